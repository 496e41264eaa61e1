package io.rund.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.rund.job.JobRegistry;
import io.rund.job.JobState;
import io.rund.job.JobStatus;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.time.Duration;
import java.time.Instant;

/**
 * Counts and times jobs from the registry's {@link JobRegistry.JobTransition} events on the actor system's event
 * stream: starts (and refused ones), the start latency (accepted to running: cgroup, log, spawn) and the exit to
 * final-status latency (the process's exit to the status that reports it). An actor only to subscribe; observing a
 * histogram is a few atomic adds, so it never blocks.
 */
public final class JobEventMetrics {

    /** Buckets in seconds: a start takes milliseconds on a quiet host and seconds on a loaded one. */
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final double NANOS_PER_SECOND = 1e9;

    private final Counter starts;
    private final Counter startsRefused;
    private final Histogram startLatency;
    private final Histogram exitLatency;

    JobEventMetrics(PrometheusRegistry registry) {
        starts = Counter.builder().name("rund_job_starts").help("Jobs accepted for start since the daemon started")
                .register(registry);
        startsRefused = Counter.builder().name("rund_job_starts_refused")
                .help("Starts refused (invalid, over a cap, shutting down) since the daemon started").register(registry);
        startLatency = Histogram.builder().name("rund_job_start_latency_seconds")
                .help("From a job's acceptance to its process running (cgroup, log, spawn)")
                .classicUpperBounds(LATENCY_BUCKETS).register(registry);
        exitLatency = Histogram.builder().name("rund_job_exit_status_latency_seconds")
                .help("From a job's process exit to its final status (cgroup emptied and read, output drained)")
                .classicUpperBounds(LATENCY_BUCKETS).register(registry);
    }

    Behavior<JobRegistry.JobTransition> behavior() {
        return Behaviors.setup(context -> {
            context.getSystem().eventStream().tell(new EventStream.Subscribe<>(JobRegistry.JobTransition.class, context.getSelf()));
            return Behaviors.receiveMessage(transition -> {
                observe(transition);
                return Behaviors.same();
            });
        });
    }

    void observe(JobRegistry.JobTransition transition) {
        if (transition.refused()) {
            startsRefused.inc();
            return;
        }
        if (transition.status().isEmpty()) {
            return;
        }
        JobStatus status = transition.status().get();
        if (transition.previous().isEmpty()) {
            starts.inc();
        } else if (status.state() == JobState.RUNNING && transition.previous().get() == JobState.STARTING) {
            observeBetween(startLatency, status.createdAt(), status.startedAt());
        } else if (status.state() == JobState.EXITED && !transition.previous().get().isFinal()) {
            observeBetween(exitLatency, status.endedAt(), transition.observedAt());
        }
    }

    private static void observeBetween(Histogram histogram, Instant from, Instant to) {
        if (from != null && to != null && !to.isBefore(from)) {
            histogram.observe(Duration.between(from, to).toNanos() / NANOS_PER_SECOND);
        }
    }
}
