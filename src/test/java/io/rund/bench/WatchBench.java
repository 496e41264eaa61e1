package io.rund.bench;

import com.google.protobuf.Timestamp;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobEvent;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.PauseRequest;
import io.rund.proto.v1.ResumeRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.WatchRequest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * 9. Watch fan-out: what watching a busy host costs, against what scripts did before Watch existed. One real daemon
 * runs N sleeping jobs; the bench pauses and resumes them at a steady rate (each change one FROZEN or THAWED event)
 * while (a) N watchers (Watch of all the caller's jobs, 100 streams per TLS connection) receive every event, or (b) N
 * clients poll List of all their jobs every second over as many connections (the baseline), or (c) nobody looks (the
 * changes' own cost). Measured in each: the time from a change to a client seeing it, changes seen per second by all
 * clients together, the daemon's CPU seconds per second and its live heap per client after a full GC. Watch and poll
 * alternate from run to run.
 */
final class WatchBench {

    static final String SECTION = "9. Watch fan-out";
    /** As many Watch streams (or pollers) share one TLS connection, as a fleet of agents behind a few proxies would. */
    private static final int STREAMS_PER_CONNECTION = 100;
    /** What a script polling for changes does: {@code while sleep 1; do rund list; done} (a fixed delay). */
    private static final Duration POLL_INTERVAL = Duration.ofSeconds(1);
    private static final int STARTERS = 8;
    private static final StartRequest SLEEPER = StartRequest.newBuilder().setCommand("sleep").addArgs("1000000").build();
    private static final Duration SUBSCRIBE_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration PROBE_PERIOD = Duration.ofSeconds(1);
    /** The watch phase ends once no event has arrived for this long (all delivered), at most DRAIN_TIMEOUT after. */
    private static final Duration QUIET = Duration.ofSeconds(2);
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(2);
    /** Linux's USER_HZ on x86_64 and arm64: the unit of /proc/PID/stat's utime and stime. */
    private static final double CLOCK_TICKS_PER_SECOND = 100;
    private static final int UTIME_AFTER_STATE = 11;
    private static final int STIME_AFTER_STATE = 12;
    private static final double KIB = 1024;
    private static final int HEAP_READINGS = 3;
    private static final double MICROS_PER_MILLI = 1_000;
    private static final long MICROS_PER_SECOND = 1_000_000;
    private static final double HEADROOM = 2;
    /** Where a JFR recording of the daemon during the first watch and poll windows goes, if set (a directory). */
    private static final String JFR_DIRECTORY = "RUND_BENCH_JFR";

    /**
     * How much the section does: jobs (one more, the subscription probe, is never counted), watchers and pollers
     * (as many as the jobs), pause+resume changes per second, how long a job stays paused (also the settling time
     * before the window, which warms the daemon's JIT up), the measured window, and runs (watch and poll each).
     */
    record Plan(int jobs, int clients, int changesPerSecond, Duration hold, Duration window, int runs) {
        static Plan full() {
            return new Plan(1_000, 1_000, 20, Duration.ofSeconds(5), Duration.ofSeconds(15), 2);
        }

        /** 200 jobs and 200 watchers or pollers (2 connections), one run: about a minute. */
        static Plan quick() {
            return new Plan(200, 200, 20, Duration.ofSeconds(2), Duration.ofSeconds(6), 1);
        }
    }

    private final BenchContext bench;
    private final Plan plan;
    private final BenchDaemon daemon;
    private final List<String> jobs;
    private final Map<String, Integer> jobIndex = new HashMap<>();
    private final Changer changer;
    private final Optional<Path> jfr = Optional.ofNullable(System.getenv(JFR_DIRECTORY)).map(Path::of);

    private WatchBench(BenchContext bench, Plan plan, BenchDaemon daemon, List<String> jobs, RundClient control) {
        this.bench = bench;
        this.plan = plan;
        this.daemon = daemon;
        this.jobs = jobs;
        for (int i = 0; i < jobs.size(); i++) {
            jobIndex.put(jobs.get(i), i);
        }
        this.changer = new Changer(control, jobs.subList(1, jobs.size()));
    }

    static List<Figure> run(BenchContext bench) throws Exception {
        boolean quick = bench.plan().scaleJobs() < BenchPlan.full().scaleJobs();
        Plan plan = quick ? Plan.quick() : Plan.full();
        try (BenchDaemon daemon = bench.startDaemon(); RundClient control = bench.client(daemon)) {
            bench.progress(String.format(Locale.ROOT, "watch: starting %,d sleeping jobs with %d clients", plan.jobs() + 1, STARTERS));
            List<String> jobs = startJobs(bench, daemon, plan.jobs() + 1);
            WatchBench watch = new WatchBench(bench, plan, daemon, jobs, control);
            try {
                return watch.measure();
            } finally {
                watch.changer.close();
                stopJobs(bench, daemon, jobs);
            }
        }
    }

    private List<Figure> measure() throws Exception {
        String who = String.format(Locale.ROOT, "%,d", plan.clients());
        String load = String.format(Locale.ROOT, "%,d jobs, %d changes/s", plan.jobs(), plan.changesPerSecond());
        Figure pollP50 = new Figure(SECTION, "baseline: " + who + " clients polling List every 1 s: change → first poll showing it, p50", "ms")
                .as("List polled every 1 s");
        Figure pollP99 = new Figure(SECTION, "baseline: " + who + " pollers: change → first poll showing it, p99", "ms")
                .as("List polled every 1 s");
        Figure watchP50 = new Figure(SECTION, who + " watchers of " + load + ": event latency (published → received), p50", "ms")
                .comparedWith(pollP50);
        Figure watchP99 = new Figure(SECTION, who + " watchers: event latency, p99", "ms").comparedWith(pollP99);
        Figure pollRate = new Figure(SECTION, "baseline: " + who + " pollers: changes seen, all clients together", "changes/s")
                .as("List polled every 1 s");
        Figure watchRate = new Figure(SECTION, who + " watchers: events delivered, all watchers together", "events/s")
                .comparedWith(pollRate);
        Figure floorCpu = new Figure(SECTION, "daemon CPU with the changes alone (nobody watching or polling)", "CPU s/s")
                .as("changes alone");
        Figure pollCpu = new Figure(SECTION, "baseline: daemon CPU with " + who + " pollers", "CPU s/s")
                .as("List polled every 1 s");
        Figure watchCpu = new Figure(SECTION, "daemon CPU with " + who + " watchers", "CPU s/s")
                .comparedWith(pollCpu).comparedWith(floorCpu);
        Figure pollHeap = new Figure(SECTION, "baseline: daemon live heap per poller (after full GC)", "KiB")
                .as("List polled every 1 s");
        Figure watchHeap = new Figure(SECTION, "daemon live heap per watcher (after full GC)", "KiB").comparedWith(pollHeap);
        Figure listCalls = new Figure(SECTION, "baseline: List calls answered (" + plan.jobs() + " jobs each)", "calls/s");
        Figure listTime = new Figure(SECTION, "baseline: List round trip, p50", "ms");
        Figure floorControl = new Figure(SECTION, "Pause/Resume round trip with the changes alone, p50", "ms")
                .as("changes alone");
        Figure pollControl = new Figure(SECTION, "baseline: Pause/Resume round trip with " + who + " pollers, p50", "ms")
                .as("List polled every 1 s");
        Figure watchControl = new Figure(SECTION, "Pause/Resume round trip with " + who + " watchers, p50", "ms")
                .comparedWith(pollControl).comparedWith(floorControl);

        for (int run = 1; run <= plan.runs(); run++) {
            bench.progress(String.format(Locale.ROOT, "watch: run %d/%d, the changes alone", run, plan.runs()));
            Window alone = changesAlone();
            floorCpu.add(alone.cpuPerSecond());
            floorControl.add(alone.controlRoundTrips().percentile(0.50) / MICROS_PER_MILLI);
            noteFailedChanges(floorControl, run, alone);
            boolean watchFirst = run % 2 == 1;
            for (int phase = 0; phase < 2; phase++) {
                if ((phase == 0) == watchFirst) {
                    bench.progress(String.format(Locale.ROOT, "watch: run %d/%d, %s watchers", run, plan.runs(), who));
                    WatchFigures w = watchers(run == 1);
                    watchP50.add(w.latency().percentile(0.50) / MICROS_PER_MILLI);
                    watchP99.add(w.latency().percentile(0.99) / MICROS_PER_MILLI);
                    watchRate.add(w.seenPerSecond());
                    watchCpu.add(w.window().cpuPerSecond());
                    watchHeap.add(w.heapPerClientKiB());
                    watchControl.add(w.window().controlRoundTrips().percentile(0.50) / MICROS_PER_MILLI);
                    noteFailedChanges(watchControl, run, w.window());
                    if (w.trouble().isPresent()) {
                        watchP50.note("run " + run + ": " + w.trouble().get());
                    }
                } else {
                    bench.progress(String.format(Locale.ROOT, "watch: run %d/%d, %s clients polling List", run, plan.runs(), who));
                    PollFigures p = pollers(run == 1);
                    pollP50.add(p.latency().percentile(0.50) / MICROS_PER_MILLI);
                    pollP99.add(p.latency().percentile(0.99) / MICROS_PER_MILLI);
                    pollRate.add(p.seenPerSecond());
                    pollCpu.add(p.window().cpuPerSecond());
                    pollHeap.add(p.heapPerClientKiB());
                    pollControl.add(p.window().controlRoundTrips().percentile(0.50) / MICROS_PER_MILLI);
                    noteFailedChanges(pollControl, run, p.window());
                    listCalls.add(p.listsPerSecond());
                    listTime.add(p.listRoundTrip().percentile(0.50) / MICROS_PER_MILLI);
                    if (p.trouble().isPresent()) {
                        pollP50.note("run " + run + ": " + p.trouble().get());
                    }
                    if (p.missed() > 0) {
                        pollRate.note(String.format(Locale.ROOT, "run %d: %,d of %,d (poller, change) pairs never seen "
                                + "(the job changed back before that client's next poll)", run, p.missed(), p.expected()));
                    }
                }
            }
        }
        return List.of(watchP50, pollP50, watchP99, pollP99, watchRate, pollRate, watchCpu, pollCpu, floorCpu,
                watchHeap, pollHeap, watchControl, pollControl, floorControl, listCalls, listTime);
    }

    /** A pause or resume that failed (the daemon did not answer in time) is a finding, not the end of the section. */
    private static void noteFailedChanges(Figure figure, int run, Window window) {
        if (window.failedChanges() > 0) {
            figure.note(String.format(Locale.ROOT, "run %d: %d pause/resume calls failed, the first: %s", run,
                    window.failedChanges(), window.firstFailedChange()));
        }
    }

    // ---- the phases ----------------------------------------------------------------------------------------

    /** Changes for hold + window with no client attached: the daemon's CPU for the changes themselves. */
    private Window changesAlone() throws Exception {
        Window window = changes(Optional.empty());
        changer.resumeAll();
        return window;
    }

    private record WatchFigures(Samples latency, double seenPerSecond, Window window, double heapPerClientKiB,
                                Optional<String> trouble) {}

    /** N watchers of all the caller's jobs, subscribed before the changes start; every event's latency. */
    private WatchFigures watchers(boolean profile) throws Exception {
        long heapBefore = daemon.heapUsedAfterGcBytes();
        Deliveries deliveries = new Deliveries(capacity());
        CountDownLatch subscribed = new CountDownLatch(plan.clients());
        AtomicInteger failures = new AtomicInteger();
        AtomicReference<Status> firstFailure = new AtomicReference<>();
        List<RundClient> connections = new ArrayList<>();
        List<ClientCall<WatchRequest, JobEvent>> calls = new ArrayList<>();
        try {
            for (int i = 0; i < plan.clients(); i += STREAMS_PER_CONNECTION) {
                connections.add(bench.client(daemon));
            }
            for (int i = 0; i < plan.clients(); i++) {
                ClientCall<WatchRequest, JobEvent> call = connections.get(i / STREAMS_PER_CONNECTION).newWatchCall(CallOptions.DEFAULT);
                calls.add(call);
                call.start(new ClientCall.Listener<>() {
                    private boolean first = true;

                    @Override
                    public void onMessage(JobEvent event) {
                        deliveries.add(micros(event.getTime()), nowMicros());
                        if (first) {
                            first = false;
                            subscribed.countDown();
                        }
                        call.request(1);
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        if (status.getCode() != Status.Code.CANCELLED) {
                            failures.incrementAndGet();
                            firstFailure.compareAndSet(null, status);
                        }
                    }
                }, new Metadata());
                call.sendMessage(WatchRequest.getDefaultInstance());
                call.halfClose();
                call.request(1);
            }
            awaitSubscribed(subscribed, () -> failures.get() > 0 ? "; " + failures.get() + " watchers failed, the first with "
                    + firstFailure.get() : "");
            double heapPerWatcher = (heapWithClients() - heapBefore) / KIB / plan.clients();
            Window window = changes(profile ? Optional.of("watch") : Optional.empty());
            awaitQuiet(deliveries);
            Samples latency = deliveries.latencies(window);
            double seen = deliveries.receivedIn(window) / window.seconds();
            Optional<String> trouble = Optional.empty();
            if (failures.get() > 0 || deliveries.dropped() > 0) {
                trouble = Optional.of(failures.get() + " watchers failed (the first with " + firstFailure.get() + "), "
                        + deliveries.dropped() + " receipts not recorded");
            }
            return new WatchFigures(latency, seen, window, heapPerWatcher, trouble);
        } finally {
            calls.forEach(call -> call.cancel("measured", null));
            connections.forEach(RundClient::close);
            changer.resumeAll();
        }
    }

    private record PollFigures(Samples latency, double seenPerSecond, Window window, double heapPerClientKiB,
                               double listsPerSecond, Samples listRoundTrip, long missed, long expected,
                               Optional<String> trouble) {
        PollFigures troubled(Optional<String> why) {
            return new PollFigures(latency, seenPerSecond, window, heapPerClientKiB, listsPerSecond, listRoundTrip,
                    missed, expected, why);
        }
    }

    /** One client's view: the state of each job at its last poll, and what changed, when its reply arrived. */
    private static final class Poller {
        final JobState[] seen;
        final List<long[]> observations = new ArrayList<>(); // {receive micros, job index, state number}
        final List<long[]> polls = new ArrayList<>();        // {start micros, round trip micros}
        volatile long lastCompletedPollStart;
        /** List calls that failed (a script would just poll again), and the first one's status. */
        long failures;
        String firstFailure;

        Poller(int jobs) {
            seen = new JobState[jobs];
        }
    }

    /**
     * The baseline: N clients, each polling List of all its jobs with a 1 s pause between polls (phases spread over
     * the second, as scripts started at different times are), over N/100 connections. A change's time is the
     * daemon's, from the event one reference watcher receives; a poller sees it with the first reply that shows it.
     */
    private PollFigures pollers(boolean profile) throws Exception {
        long heapBefore = daemon.heapUsedAfterGcBytes();
        ConcurrentLinkedQueue<JobEvent> changesSeen = new ConcurrentLinkedQueue<>();
        CountDownLatch referenceSubscribed = new CountDownLatch(1);
        AtomicBoolean polling = new AtomicBoolean(true);
        AtomicReference<Exception> pollFailure = new AtomicReference<>();
        CountDownLatch firstPolls = new CountDownLatch(plan.clients());
        List<RundClient> connections = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        List<Poller> pollers = new ArrayList<>();
        RundClient referenceConnection = bench.client(daemon);
        ClientCall<WatchRequest, JobEvent> reference = referenceConnection.newWatchCall(CallOptions.DEFAULT);
        try {
            reference.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(JobEvent event) {
                    changesSeen.add(event);
                    referenceSubscribed.countDown();
                    reference.request(1);
                }
            }, new Metadata());
            reference.sendMessage(WatchRequest.getDefaultInstance());
            reference.halfClose();
            reference.request(1);
            awaitSubscribed(referenceSubscribed, () -> "");

            for (int i = 0; i < plan.clients(); i += STREAMS_PER_CONNECTION) {
                connections.add(bench.client(daemon));
            }
            ListRequest everyJob = ListRequest.newBuilder().setPageSize(jobs.size()).build();
            for (int i = 0; i < plan.clients(); i++) {
                RundClient connection = connections.get(i / STREAMS_PER_CONNECTION);
                Poller poller = new Poller(jobs.size());
                pollers.add(poller);
                long phase = ThreadLocalRandom.current().nextLong(POLL_INTERVAL.toMillis());
                threads.add(Thread.ofVirtual().name("bench-poller-" + i).start(() -> {
                    try {
                        Thread.sleep(phase);
                        while (!poll(connection, everyJob, poller)) {
                            Thread.sleep(POLL_INTERVAL);
                        }
                        firstPolls.countDown();
                        while (polling.get()) {
                            Thread.sleep(POLL_INTERVAL);
                            poll(connection, everyJob, poller);
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (Exception e) {
                        pollFailure.compareAndSet(null, e);
                        firstPolls.countDown();
                    }
                }));
            }
            if (!firstPolls.await(SUBSCRIBE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                throw new IllegalStateException(firstPolls.getCount() + " pollers did not complete a first List in " + SUBSCRIBE_TIMEOUT);
            }
            throwIfFailed(pollFailure);
            double heapPerPoller = (heapWithClients() - heapBefore) / KIB / plan.clients();
            Window window = changes(profile ? Optional.of("poll") : Optional.empty());
            // Every poller has then shown whatever changed in the window: its last completed poll began after it.
            long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
            while (pollers.stream().anyMatch(p -> p.lastCompletedPollStart <= window.endMicros())
                    && System.nanoTime() < deadline) {
                throwIfFailed(pollFailure);
                Thread.sleep(POLL_INTERVAL.toMillis() / 10);
            }
            long behind = pollers.stream().filter(p -> p.lastCompletedPollStart <= window.endMicros()).count();
            polling.set(false);
            for (Thread thread : threads) {
                thread.join();
            }
            throwIfFailed(pollFailure);
            PollFigures figures = pollFigures(window, pollers, List.copyOf(changesSeen), heapPerPoller);
            long failed = pollers.stream().mapToLong(p -> p.failures).sum();
            String firstFailed = pollers.stream().map(p -> p.firstFailure).filter(f -> f != null).findFirst().orElse("");
            return figures.troubled(failed == 0 && behind == 0 ? Optional.empty() : Optional.of(String.format(Locale.ROOT,
                    "%,d List calls failed%s; %,d pollers had not completed a poll begun after the window %s after it",
                    failed, failed > 0 ? " (the first: " + firstFailed + ")" : "", behind, DRAIN_TIMEOUT)));
        } finally {
            polling.set(false);
            threads.forEach(Thread::interrupt);
            reference.cancel("measured", null);
            referenceConnection.close();
            connections.forEach(RundClient::close);
            changer.resumeAll();
        }
    }

    /**
     * One poll: every page of List, each job's state compared with the last poll's. A failed call (DEADLINE_EXCEEDED
     * when the daemon cannot keep up) is counted and shows nothing; false then.
     */
    private boolean poll(RundClient connection, ListRequest everyJob, Poller poller) {
        long start = nowMicros();
        List<JobStatus> statuses = new ArrayList<>(jobs.size());
        ListRequest request = everyJob;
        while (true) {
            ListResponse page;
            try {
                page = connection.list(request);
            } catch (io.grpc.StatusRuntimeException e) {
                poller.failures++;
                if (poller.firstFailure == null) {
                    poller.firstFailure = e.getStatus().getCode() + ": " + e.getStatus().getDescription();
                }
                return false;
            }
            statuses.addAll(page.getJobsList());
            if (page.getNextPageToken().isEmpty()) {
                break;
            }
            request = everyJob.toBuilder().setPageToken(page.getNextPageToken()).build();
        }
        long received = nowMicros();
        for (JobStatus status : statuses) {
            Integer index = jobIndex.get(status.getId());
            if (index == null) {
                continue;
            }
            JobState before = poller.seen[index];
            if (before != null && before != status.getState()) {
                poller.observations.add(new long[] {received, index, status.getStateValue()});
            }
            poller.seen[index] = status.getState();
        }
        poller.polls.add(new long[] {start, received - start});
        poller.lastCompletedPollStart = start;
        return true;
    }

    private PollFigures pollFigures(Window window, List<Poller> pollers, List<JobEvent> events, double heapPerPoller) {
        // The daemon's time of each change of job i to a state, in order: what a poll showing that state reveals.
        Map<Long, List<Long>> changeTimes = new HashMap<>();
        long changesInWindow = 0;
        for (JobEvent event : events) {
            Integer index = jobIndex.get(event.getJobId());
            int state = switch (event.getType()) {
                case JOB_EVENT_TYPE_FROZEN -> JobState.JOB_STATE_FROZEN_VALUE;
                case JOB_EVENT_TYPE_THAWED -> JobState.JOB_STATE_RUNNING_VALUE;
                default -> -1;
            };
            if (index == null || state < 0) {
                continue;
            }
            long time = micros(event.getTime());
            changeTimes.computeIfAbsent(key(index, state), k -> new ArrayList<>()).add(time);
            if (window.holds(time)) {
                changesInWindow++;
            }
        }
        changeTimes.values().forEach(times -> times.sort(null));
        Samples latency = new Samples(pollers.stream().mapToInt(p -> p.observations.size()).sum());
        long seenInWindow = 0;
        long polls = 0;
        Samples roundTrips = new Samples(pollers.stream().mapToInt(p -> p.polls.size()).sum());
        for (Poller poller : pollers) {
            for (long[] seen : poller.observations) {
                long changed = latestAtOrBefore(changeTimes.getOrDefault(key((int) seen[1], (int) seen[2]), List.of()), seen[0]);
                if (changed >= 0 && window.holds(changed)) {
                    latency.add(seen[0] - changed);
                }
                if (window.holds(seen[0])) {
                    seenInWindow++;
                }
            }
            for (long[] poll : poller.polls) {
                roundTrips.add(poll[1]);
                if (window.holds(poll[0] + poll[1])) {
                    polls++;
                }
            }
        }
        long expected = changesInWindow * pollers.size();
        return new PollFigures(latency, seenInWindow / window.seconds(), window, heapPerPoller, polls / window.seconds(),
                roundTrips, expected - latency.count(), expected, Optional.empty());
    }

    private static long key(int job, int state) {
        return ((long) job << Integer.SIZE) | state;
    }

    /** The latest time in {@code sorted} at or before {@code limit}; -1 if none. */
    private static long latestAtOrBefore(List<Long> sorted, long limit) {
        long found = -1;
        for (long time : sorted) {
            if (time > limit) {
                break;
            }
            found = time;
        }
        return found;
    }

    // ---- changes, time and CPU -------------------------------------------------------------------------------

    /** The measured window: its bounds on the host's clock (µs since the epoch) and the daemon's CPU within it. */
    private record Window(long startMicros, long endMicros, double cpuSeconds, Samples controlRoundTrips,
                          int failedChanges, String firstFailedChange) {
        double seconds() {
            return (endMicros - startMicros) / (double) MICROS_PER_SECOND;
        }

        double cpuPerSecond() {
            return cpuSeconds / seconds();
        }

        boolean holds(long micros) {
            return micros >= startMicros && micros < endMicros;
        }
    }

    /**
     * Pauses and resumes jobs at the plan's rate for hold + window; the daemon's CPU is read at the window's bounds
     * (the hold before it brings the changes to their steady state: as many resumes as pauses). Optionally records
     * the daemon with JFR during the window.
     */
    private Window changes(Optional<String> jfrName) throws Exception {
        Window window;
        changer.start(plan.changesPerSecond(), plan.hold());
        try {
            Thread.sleep(plan.hold());
            if (jfrName.isPresent() && jfr.isPresent()) {
                recordJfr(jfrName.get());
            }
            double cpuBefore = daemonCpuSeconds();
            long start = nowMicros();
            Thread.sleep(plan.window());
            double cpuAfter = daemonCpuSeconds();
            long end = nowMicros();
            window = new Window(start, end, cpuAfter - cpuBefore, null, 0, null);
        } finally {
            changer.stop();
        }
        if (changer.failures() > 0) {
            bench.progress("watch: " + changer.failures() + " pause/resume calls failed, the first: " + changer.firstFailure());
        }
        return new Window(window.startMicros(), window.endMicros(), window.cpuSeconds(), changer.roundTrips(window),
                changer.failures(), changer.firstFailure());
    }

    /**
     * The daemon's live heap with the clients attached: the median of HEAP_READINGS full collections a second apart,
     * since a poller's cost is what its List calls under way hold at that instant (a watcher's is steady).
     */
    private long heapWithClients() throws IOException, InterruptedException {
        long[] readings = new long[HEAP_READINGS];
        for (int i = 0; i < HEAP_READINGS; i++) {
            if (i > 0) {
                Thread.sleep(POLL_INTERVAL);
            }
            readings[i] = daemon.heapUsedAfterGcBytes();
        }
        Arrays.sort(readings);
        return readings[HEAP_READINGS / 2];
    }

    /** utime + stime of the daemon's process (all its threads), from /proc/PID/stat. */
    private double daemonCpuSeconds() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(daemon.pid()), "stat"));
        String[] afterName = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(afterName[UTIME_AFTER_STATE]) + Long.parseLong(afterName[STIME_AFTER_STATE])) / CLOCK_TICKS_PER_SECOND;
    }

    private void recordJfr(String name) throws IOException, InterruptedException {
        Path directory = jfr.orElseThrow();
        Files.createDirectories(directory);
        Path file = directory.resolve("watch-fanout-" + name + ".jfr").toAbsolutePath();
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(daemon.pid()), "JFR.start", "name=" + name,
                "settings=profile", "duration=" + plan.window().toSeconds() + "s", "filename=" + file)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("jcmd JFR.start for pid " + daemon.pid() + " failed: " + out);
        }
        bench.progress("watch: recording the daemon with JFR into " + file);
    }

    private static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * MICROS_PER_SECOND + now.getNano() / 1_000;
    }

    private static long micros(Timestamp time) {
        return time.getSeconds() * MICROS_PER_SECOND + time.getNanos() / 1_000;
    }

    /** Receipts one phase may record: every client sees every change, with room to spare. */
    private int capacity() {
        double seconds = plan.hold().toSeconds() + plan.window().toSeconds() + QUIET.toSeconds();
        return (int) Math.min(Integer.MAX_VALUE - 8, HEADROOM * plan.clients() * plan.changesPerSecond() * seconds
                + plan.clients() * SUBSCRIBE_TIMEOUT.toSeconds());
    }

    /** Toggles the probe job (job 0, never changed otherwise) until every stream has received an event. */
    private void awaitSubscribed(CountDownLatch subscribed, java.util.function.Supplier<String> why) throws Exception {
        String probe = jobs.getFirst();
        RundClient control = changer.client;
        boolean paused = false;
        long deadline = System.nanoTime() + SUBSCRIBE_TIMEOUT.toNanos();
        try {
            while (!subscribed.await(PROBE_PERIOD.toMillis(), TimeUnit.MILLISECONDS)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(subscribed.getCount() + " watch streams received nothing in "
                            + SUBSCRIBE_TIMEOUT + why.get());
                }
                if (paused) {
                    control.resume(ResumeRequest.newBuilder().setJobId(probe).build());
                } else {
                    control.pause(PauseRequest.newBuilder().setJobId(probe).build());
                }
                paused = !paused;
            }
        } finally {
            if (paused) {
                control.resume(ResumeRequest.newBuilder().setJobId(probe).build());
            }
        }
    }

    /** Waits until no event has arrived for QUIET: every stream has received everything published. */
    private static void awaitQuiet(Deliveries deliveries) throws InterruptedException {
        long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
        int count = deliveries.count();
        long lastChange = System.nanoTime();
        while (System.nanoTime() - lastChange < QUIET.toNanos() && System.nanoTime() < deadline) {
            Thread.sleep(QUIET.toMillis() / 10);
            int now = deliveries.count();
            if (now != count) {
                count = now;
                lastChange = System.nanoTime();
            }
        }
    }

    private static void throwIfFailed(AtomicReference<Exception> failure) throws Exception {
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    /** Every receipt of a phase: the event's time (published) and when a watcher received it, µs since the epoch. */
    private static final class Deliveries {
        private final AtomicLongArray published;
        private final AtomicLongArray received;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicLong dropped = new AtomicLong();

        Deliveries(int capacity) {
            published = new AtomicLongArray(capacity);
            received = new AtomicLongArray(capacity);
        }

        void add(long publishedMicros, long receivedMicros) {
            int index = next.getAndIncrement();
            if (index >= published.length()) {
                dropped.incrementAndGet();
                return;
            }
            published.set(index, publishedMicros);
            received.set(index, receivedMicros);
        }

        int count() {
            return Math.min(next.get(), published.length());
        }

        long dropped() {
            return dropped.get();
        }

        /** Latencies of the events published in the window. */
        Samples latencies(Window window) {
            int count = count();
            Samples samples = new Samples(count);
            for (int i = 0; i < count; i++) {
                if (window.holds(published.get(i))) {
                    samples.add(received.get(i) - published.get(i));
                }
            }
            return samples;
        }

        long receivedIn(Window window) {
            int count = count();
            long inWindow = 0;
            for (int i = 0; i < count; i++) {
                if (window.holds(received.get(i))) {
                    inWindow++;
                }
            }
            return inWindow;
        }
    }

    /**
     * Pauses the next job every 2/rate seconds and resumes the one paused {@code hold} ago, so that once the hold has
     * passed the jobs change at the plan's rate. Each call runs on a virtual thread of its own, so a slow answer
     * does not slow the rate down. The jobs are taken in turn across phases.
     */
    private static final class Changer implements AutoCloseable {
        /** A job paused at {@code at} (System.nanoTime) by the call {@code pause}. */
        private record Paused(int job, long at, Future<Boolean> pause) {}

        private static final int RESUME_ATTEMPTS = 5;

        private final RundClient client;
        private final List<String> jobs;
        private final ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("bench-watch-changer").factory());
        private final ExecutorService calls = Executors.newVirtualThreadPerTaskExecutor();
        private final ArrayDeque<Paused> paused = new ArrayDeque<>();
        private final List<Future<Boolean>> inFlight = new ArrayList<>();
        private final AtomicInteger failures = new AtomicInteger();
        private final AtomicReference<String> firstFailure = new AtomicReference<>();
        /** {start µs, round trip µs} of each pause and resume since the last start. */
        private final ConcurrentLinkedQueue<long[]> roundTrips = new ConcurrentLinkedQueue<>();
        private int next;
        private ScheduledFuture<?> schedule;

        Changer(RundClient client, List<String> jobs) {
            this.client = client;
            this.jobs = jobs;
        }

        synchronized void start(int changesPerSecond, Duration hold) {
            roundTrips.clear();
            failures.set(0);
            firstFailure.set(null);
            long period = 2 * MICROS_PER_SECOND / changesPerSecond;
            schedule = ticks.scheduleAtFixedRate(() -> tick(hold), 0, period, TimeUnit.MICROSECONDS);
        }

        private synchronized void tick(Duration hold) {
            long now = System.nanoTime();
            int job = next++ % jobs.size();
            Future<Boolean> pause = submit(Optional.empty(), () -> client.pause(PauseRequest.newBuilder().setJobId(jobs.get(job)).build()));
            paused.addLast(new Paused(job, now, pause));
            if (paused.size() > 1 && now - paused.getFirst().at() >= hold.toNanos()) {
                Paused resumed = paused.removeFirst();
                // Under load a pause may still be under way after the hold: its resume waits for it (not timed).
                submit(Optional.of(resumed.pause()),
                        () -> client.resume(ResumeRequest.newBuilder().setJobId(jobs.get(resumed.job())).build()));
            }
        }

        /** Whether the call failed (it was counted then); waits for it. */
        private static boolean awaitDone(Future<Boolean> call) {
            try {
                return !call.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            } catch (java.util.concurrent.ExecutionException e) {
                return true;
            }
        }

        /**
         * Runs {@code call} on a virtual thread of its own once {@code after} is done (not at all if it failed),
         * timing it; the future says whether it succeeded.
         */
        private Future<Boolean> submit(Optional<Future<Boolean>> after, java.util.function.Supplier<?> call) {
            inFlight.removeIf(Future::isDone);
            Future<Boolean> future = calls.submit(() -> {
                if (after.isPresent() && awaitDone(after.get())) {
                    return false;
                }
                try {
                    long start = nowMicros();
                    call.get();
                    roundTrips.add(new long[] {start, nowMicros() - start});
                    return true;
                } catch (RuntimeException e) {
                    failures.incrementAndGet();
                    firstFailure.compareAndSet(null, String.valueOf(e));
                    return false;
                }
            });
            inFlight.add(future);
            return future;
        }

        /** Stops changing and waits for the calls under way. */
        void stop() throws Exception {
            List<Future<Boolean>> pending;
            synchronized (this) {
                if (schedule != null) {
                    schedule.cancel(false);
                    schedule = null;
                }
            }
            // A tick that was running when cancelled may still submit: wait for it through the scheduler's thread.
            ticks.submit(() -> { }).get();
            synchronized (this) {
                pending = new ArrayList<>(inFlight);
                inFlight.clear();
            }
            for (Future<Boolean> call : pending) {
                call.get();
            }
        }

        /** Resumes every job still paused, one call after the other: the next phase starts with all running. */
        void resumeAll() {
            List<Paused> left;
            synchronized (this) {
                left = List.copyOf(paused);
                paused.clear();
            }
            left.forEach(job -> awaitDone(job.pause()));
            // Every job List shows FROZEN (a resume that timed out under load leaves one), until none is.
            for (int attempt = 0; attempt < RESUME_ATTEMPTS; attempt++) {
                List<String> frozen = new ArrayList<>();
                String token = "";
                do {
                    ListResponse page = client.list(ListRequest.newBuilder().setPageToken(token)
                            .addStates(JobState.JOB_STATE_FROZEN).build());
                    page.getJobsList().forEach(job -> frozen.add(job.getId()));
                    token = page.getNextPageToken();
                } while (!token.isEmpty());
                if (frozen.isEmpty()) {
                    return;
                }
                for (String id : frozen) {
                    try {
                        client.resume(ResumeRequest.newBuilder().setJobId(id).build());
                    } catch (io.grpc.StatusRuntimeException e) {
                        // listed again on the next attempt
                    }
                }
            }
            throw new IllegalStateException("jobs still FROZEN after " + RESUME_ATTEMPTS + " rounds of resumes");
        }

        int failures() {
            return failures.get();
        }

        /** Round trips of the pause and resume calls that started in {@code window}. */
        Samples roundTrips(Window window) {
            List<long[]> calls = roundTrips.stream().filter(call -> window.holds(call[0])).toList();
            Samples samples = new Samples(calls.size());
            calls.forEach(call -> samples.add(call[1]));
            return samples;
        }

        String firstFailure() {
            return firstFailure.get();
        }

        @Override
        public void close() {
            ticks.shutdownNow();
            calls.shutdownNow();
        }
    }

    // ---- jobs --------------------------------------------------------------------------------------------------

    private static List<String> startJobs(BenchContext bench, BenchDaemon daemon, int count) throws Exception {
        ConcurrentLinkedQueue<String> ids = new ConcurrentLinkedQueue<>();
        AtomicInteger next = new AtomicInteger();
        Concurrently.run(STARTERS, index -> {
            try (RundClient client = bench.client(daemon)) {
                while (next.getAndIncrement() < count) {
                    ids.add(client.start(SLEEPER).getJobId());
                }
            }
        });
        return new ArrayList<>(ids);
    }

    private static void stopJobs(BenchContext bench, BenchDaemon daemon, List<String> jobs) throws Exception {
        AtomicInteger next = new AtomicInteger();
        Concurrently.run(STARTERS, index -> {
            try (RundClient client = bench.client(daemon)) {
                int job;
                while ((job = next.getAndIncrement()) < jobs.size()) {
                    client.stop(StopRequest.newBuilder().setJobId(jobs.get(job)).build());
                }
            }
        });
    }
}
