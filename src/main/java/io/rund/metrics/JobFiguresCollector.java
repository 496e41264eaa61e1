package io.rund.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.rund.cgroup.CgroupException;
import io.rund.cgroup.UsageSample;
import io.rund.cgroup.UsageSampler;
import io.rund.job.CgroupLookup;
import io.rund.job.JobFigures;
import io.rund.job.JobState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The figures read at scrape time, on the metrics server's thread (never an actor's): jobs by state and the per-job
 * cgroup series of at most {@code maxJobSeries} running jobs (oldest first; rund_job_series_omitted counts the
 * rest), plus the log, follower and door figures. The registry is asked once per scrape; if it does not answer in
 * time the scrape carries the other figures without the job ones.
 */
final class JobFiguresCollector implements MultiCollector {

    private static final Logger LOG = LoggerFactory.getLogger(JobFiguresCollector.class);
    private static final double MICROS_PER_SECOND = 1e6;
    private static final String JOB = "job";

    private final DaemonGauges gauges;
    private final int maxJobSeries;
    private final Duration registryTimeout;
    private final UsageSampler sampler;

    JobFiguresCollector(DaemonGauges gauges, int maxJobSeries, Duration registryTimeout, UsageSampler sampler) {
        this.gauges = gauges;
        this.maxJobSeries = maxJobSeries;
        this.registryTimeout = registryTimeout;
        this.sampler = sampler;
    }

    @Override
    public MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder()
                .metricSnapshot(gauge("rund_log_bytes", "File bytes the job logs take on disk", gauges.logBytes().getAsLong()))
                .metricSnapshot(gauge("rund_log_followers", "Logs streams following a job now", gauges.followers().getAsLong()))
                .metricSnapshot(counter("rund_tls_handshakes_refused", "TLS handshakes the API refused since start"
                        + " (no, unknown or invalid client certificate)", gauges.handshakesRefused().getAsLong()))
                .metricSnapshot(counter("rund_connections_refused", "Connections the API closed before authentication"
                        + " since start (per-source and total caps, handshake deadline)", gauges.connectionsRefused().getAsLong()));
        JobFigures figures;
        try {
            figures = gauges.figures().figures(maxJobSeries).toCompletableFuture()
                    .get(registryTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            LOG.warn("Metrics scrape without job figures: the job registry did not answer within {} ms (rund.metrics.registry-timeout)",
                    registryTimeout.toMillis());
            return snapshots.build();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return snapshots.build();
        }
        GaugeSnapshot.Builder byState = GaugeSnapshot.builder().name("rund_jobs").help("Jobs the daemon knows, by state");
        for (Map.Entry<JobState, Integer> entry : figures.byState().entrySet()) {
            byState.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                    .labels(Labels.of("state", entry.getKey().name().toLowerCase(java.util.Locale.ROOT)))
                    .value(entry.getValue()).build());
        }
        snapshots.metricSnapshot(byState.build());
        CounterSnapshot.Builder cpu = CounterSnapshot.builder().name("rund_job_cpu_seconds")
                .help("CPU time a running job's cgroup has used (cpu.stat usage_usec)");
        GaugeSnapshot.Builder memory = GaugeSnapshot.builder().name("rund_job_memory_bytes")
                .help("Memory a running job's cgroup uses now (memory.current)");
        GaugeSnapshot.Builder pids = GaugeSnapshot.builder().name("rund_job_pids")
                .help("Processes in a running job's cgroup now (pids.current)");
        int sampled = 0;
        for (CgroupLookup.Live live : figures.live()) {
            UsageSample sample;
            try {
                sample = sampler.sample(live.cgroup());
            } catch (UsageSampler.CgroupGoneException | CgroupException e) {
                continue; // ended since the registry answered, or not spawned yet
            }
            sampled++;
            Labels job = Labels.of(JOB, live.status().id());
            cpu.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(job)
                    .value(sample.cpu().usageMicros() / MICROS_PER_SECOND).build());
            sample.memory().ifPresent(m -> memory.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(job)
                    .value(m.currentBytes()).build()));
            sample.pids().ifPresent(p -> pids.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(job)
                    .value(p.current()).build()));
        }
        return snapshots.metricSnapshot(cpu.build()).metricSnapshot(memory.build()).metricSnapshot(pids.build())
                .metricSnapshot(gauge("rund_job_series_omitted", "Running jobs without per-job series this scrape"
                        + " (past rund.metrics.max-job-series, or unreadable)", figures.liveJobs() - sampled))
                .build();
    }

    private static GaugeSnapshot gauge(String name, String help, double value) {
        return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value).build()).build();
    }

    private static CounterSnapshot counter(String name, String help, double value) {
        return CounterSnapshot.builder().name(name).help(help)
                .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(value).build()).build();
    }
}
