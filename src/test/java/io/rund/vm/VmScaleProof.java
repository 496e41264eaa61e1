package io.rund.vm;

import io.rund.bench.Concurrently;
import io.rund.bench.ProcessFigures;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.JobStatus;
import io.rund.job.OpenFileBudget;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Proves, inside the VM, that the real engine holds 10,000 concurrent sleeping jobs (issue 6) where the host cannot:
 * there the daemon's hard open-file limit holds only a few thousand, here scale.sh raises it (root has
 * CAP_SYS_RESOURCE). Starts the jobs from {@link #CLIENT_THREADS} threads through the registry, checks every one
 * runs, prints what they cost this JVM (threads, live heap, RSS, open files; each as the increase over the idle
 * engine, per job) and the guest, stops them all as the Stop RPC does, and checks that no job process and no job
 * cgroup is left. Timings are printed, never judged; the exit status is the correctness verdict.
 * Usage (in the guest, via src/test/vm/scale.sh): {@code VmScaleProof [JOBS]}.
 */
public final class VmScaleProof {

    private static final int DEFAULT_JOBS = 10_000;
    /** Concurrent starters and stoppers: more than the engine's 8 blocking threads, so that they are kept busy. */
    private static final int CLIENT_THREADS = 16;
    /** Jobs started and stopped before the idle figures are read, so that the engine's pools and classes exist. */
    private static final int WARM_UP_JOBS = 2 * CLIENT_THREADS;
    /** The sleepers' argument: long enough to outlive the run, distinctive enough to find them in /proc. */
    private static final String SLEEP_SECONDS = "100000";
    private static final JobSpec SLEEPER = JobSpec.of("sleep", SLEEP_SECONDS);
    private static final byte[] SLEEPER_CMDLINE = ("sleep\0" + SLEEP_SECONDS + "\0").getBytes(StandardCharsets.US_ASCII);
    /** Processes and threads beyond the jobs that the guest needs (its own, the JVM's). */
    private static final int PID_HEADROOM = 1024;
    private static final int PROGRESS_STEPS = 10;
    /** How often (in jobs) the JVM's thread count is sampled while jobs start and stop, for its peak. */
    private static final int THREAD_SAMPLES = 100;
    private static final int STOP_SIGNAL = 15;
    private static final double KIB = 1024;
    /** Issue 6's targets, printed beside the figures (met or missed), not judged: the verdict is correctness. */
    private static final int THREADS_TARGET = 64;
    private static final int HEAP_PER_JOB_TARGET_KIB = 16;
    private static final Pattern NUMBERS = Pattern.compile("\\d+");

    private final VmDaemon daemon;
    private final int jobs;
    private final long self = ProcessHandle.current().pid();
    private final List<String> failures = new ArrayList<>();
    private final List<String> figures = new ArrayList<>();
    /** The most threads this JVM had while the jobs started and stopped, starter and stopper threads included. */
    private final AtomicInteger peakThreads = new AtomicInteger();

    private VmScaleProof(VmDaemon daemon, int jobs) {
        this.daemon = daemon;
        this.jobs = jobs;
    }

    public static void main(String[] args) throws Exception {
        VmDaemon.env("RUND_VM");
        int jobs = args.length > 0 ? Integer.parseInt(args[0]) : DEFAULT_JOBS;
        long vmStart = System.nanoTime();
        List<String> unfit = guestFitsJobs(jobs);
        if (!unfit.isEmpty()) {
            System.out.println("FAILED: the guest cannot hold " + jobs + " jobs: " + String.join("; ", unfit));
            System.exit(1);
        }
        // All jobs are one identity's, started as fast as 16 threads can: the per-identity caps would refuse them.
        VmDaemon daemon = VmDaemon.start(Map.of("rund.jobs.max-active", Integer.toString(jobs),
                "rund.tenants.max-running-jobs", Integer.toString(jobs),
                "rund.tenants.start-rate", Integer.toString(jobs),
                "rund.tenants.start-burst", Integer.toString(jobs),
                "rund.tenants.max-retained-bytes", "1 GiB",
                "rund.tenants.max-retained-bytes-per-identity", "1 GiB"));
        VmScaleProof proof = new VmScaleProof(daemon, jobs);
        try {
            proof.run();
        } catch (Exception | AssertionError e) {
            proof.failures.add("aborted: " + e);
            e.printStackTrace(System.out);
        } finally {
            daemon.shutdown();
        }
        proof.check("after shutdown, rund's cgroup subtree " + VmDaemon.CGROUP_ROOT + " is removed",
                !Files.exists(VmDaemon.CGROUP_ROOT), "it still exists");
        System.out.println();
        System.out.printf("== scale figures (%,d sleeping jobs, engine in this JVM: %s)%n", jobs, jvmFlags());
        proof.figures.forEach(f -> System.out.println("FIGURE " + f));
        System.out.printf("(proof JVM, from main to here: %.1f s)%n", (System.nanoTime() - vmStart) / 1e9);
        if (proof.failures.isEmpty()) {
            System.out.printf("ALL SCALE CHECKS PASSED: %,d jobs ran at once, all stopped, nothing left%n", jobs);
            System.exit(0);
        }
        System.out.println("FAILED: " + String.join("; ", proof.failures));
        System.exit(1);
    }

    private void run() throws Exception {
        warmUp();
        String[] ids = new String[jobs];
        Usage idle = Usage.now(self);
        System.out.println("scale: Java threads of the idle engine: " + javaThreadKinds());
        int cgroupsIdle = jobCgroups();

        System.out.printf("scale: starting %,d jobs (%s) from %d threads%n", jobs, "sleep " + SLEEP_SECONDS, CLIENT_THREADS);
        AtomicReference<String> refusal = new AtomicReference<>();
        long startNanos = timed(index -> {
            try {
                ids[index] = daemon.start(SLEEPER);
            } catch (IllegalStateException refused) {
                refusal.compareAndSet(null, "job " + index + ": " + refused.getMessage());
            }
        }, refusal, "started");
        figure("time to start them all (%d threads)", "%.1f s", CLIENT_THREADS, startNanos / 1e9);
        check("every start accepted", refusal.get() == null, refusal.get());

        int started = (int) Arrays.stream(ids).filter(id -> id != null).count();
        Map<JobState, Long> states = daemon.list().stream().collect(Collectors.groupingBy(JobStatus::state, TreeMap::new, Collectors.counting()));
        long running = states.getOrDefault(JobState.RUNNING, 0L);
        check(String.format("all %,d jobs RUNNING at once (registry)", jobs), running == jobs, "registry states " + states);
        int cgroups = jobCgroups() - cgroupsIdle;
        check(String.format("%,d job cgroups under %s", jobs, VmDaemon.CGROUP_ROOT), cgroups == jobs, cgroups + " cgroups");
        long tasks = pidsCurrent();
        check(String.format("%,d tasks in the subtree (pids.current)", jobs), tasks == jobs, "pids.current " + tasks);
        long sleepers = sleepers();
        check(String.format("%,d `sleep %s` processes alive (/proc)", jobs, SLEEP_SECONDS), sleepers == jobs, sleepers + " found");

        Usage loaded = Usage.now(self);
        figure("jobs running at once", "%,d", started);
        figure("JVM threads (/proc Threads), idle engine → with them running", "%d → %d (issue 6 target ≤ %d: %s)",
                idle.threads, loaded.threads, THREADS_TARGET, loaded.threads <= THREADS_TARGET ? "meets" : "misses");
        System.out.println("scale: Java threads with them running: " + javaThreadKinds());
        double heapPerJob = (loaded.heapBytes - idle.heapBytes) / KIB / started;
        figure("live heap per job (after full GC)", "%.2f KiB (issue 6 target ≤ %d KiB: %s)",
                heapPerJob, HEAP_PER_JOB_TARGET_KIB, heapPerJob <= HEAP_PER_JOB_TARGET_KIB ? "meets" : "misses");
        figure("RSS per job (this JVM)", "%.1f KiB", (loaded.rssBytes - idle.rssBytes) / KIB / started);
        figure("open files per job", "%.2f fds", (loaded.openFiles - idle.openFiles) / (double) started);
        figure("guest memory per job (MemTotal - MemAvailable: kernel, cgroup, sleep process, rund)", "%.1f KiB",
                (loaded.guestUsedBytes - idle.guestUsedBytes) / KIB / started);
        figure("open-file limit (soft/hard)", "%s", openFileLimit());

        System.out.printf("scale: stopping %,d jobs from %d threads%n", started, CLIENT_THREADS);
        JobStatus[] stopped = new JobStatus[jobs];
        AtomicReference<String> stopFailure = new AtomicReference<>();
        long stopNanos = timed(index -> {
            if (ids[index] != null) {
                try {
                    stopped[index] = daemon.stop(ids[index]);
                } catch (IllegalStateException failed) {
                    stopFailure.compareAndSet(null, "job " + ids[index] + ": " + failed.getMessage());
                }
            }
        }, stopFailure, "stopped");
        figure("time to stop them all (%d threads, each Stop answered once its job ended)", "%.1f s", CLIENT_THREADS, stopNanos / 1e9);
        figure("JVM threads at most while starting and stopping (sampled every %d jobs; %d of them the starters or stoppers)",
                "%d", Math.max(1, jobs / THREAD_SAMPLES), CLIENT_THREADS, peakThreads.get());
        check("every stop answered", stopFailure.get() == null, stopFailure.get());
        Map<String, Long> ends = Arrays.stream(stopped).filter(s -> s != null)
                .collect(Collectors.groupingBy(VmScaleProof::endOf, TreeMap::new, Collectors.counting()));
        long byTerm = ends.getOrDefault(endOf(STOP_SIGNAL), 0L);
        check(String.format("all %,d stopped by request, ended by SIGTERM", started), byTerm == started, "ends " + ends);

        long left = daemon.list().stream().filter(s -> !s.state().isFinal()).count();
        check("no job left active in the registry", left == 0, left + " not ended");
        int cgroupsLeft = jobCgroups();
        check("no job cgroup left", cgroupsLeft == 0, cgroupsLeft + " left under " + VmDaemon.CGROUP_ROOT);
        long tasksLeft = pidsCurrent();
        check("no task left in the subtree (pids.current 0)", tasksLeft == 0, "pids.current " + tasksLeft);
        long sleepersLeft = sleepers();
        check("no job process left (/proc)", sleepersLeft == 0, sleepersLeft + " `sleep " + SLEEP_SECONDS + "` alive");
    }

    /** Classes loaded, pools started: what the idle figures should already include. */
    private void warmUp() throws Exception {
        long begin = System.nanoTime();
        String[] ids = new String[WARM_UP_JOBS];
        Concurrently.run(CLIENT_THREADS, thread -> {
            for (int i = thread; i < WARM_UP_JOBS; i += CLIENT_THREADS) {
                ids[i] = daemon.start(SLEEPER);
            }
        });
        Concurrently.run(CLIENT_THREADS, thread -> {
            for (int i = thread; i < WARM_UP_JOBS; i += CLIENT_THREADS) {
                daemon.stop(ids[i]);
            }
        });
        System.out.printf("scale: warm-up, %d jobs started and stopped in %.1f s%n", WARM_UP_JOBS, (System.nanoTime() - begin) / 1e9);
    }

    private interface PerJob {
        void run(int index) throws Exception;
    }

    /** Runs {@code perJob} for every job index from {@link #CLIENT_THREADS} threads until done or failed; its time. */
    private long timed(PerJob perJob, AtomicReference<String> failure, String verb) throws Exception {
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        int step = Math.max(1, jobs / PROGRESS_STEPS);
        int sampleStep = Math.max(1, jobs / THREAD_SAMPLES);
        long begin = System.nanoTime();
        Concurrently.run(CLIENT_THREADS, thread -> {
            for (int index = next.getAndIncrement(); index < jobs && failure.get() == null; index = next.getAndIncrement()) {
                perJob.run(index);
                int count = done.incrementAndGet();
                if (count % sampleStep == 0) {
                    peakThreads.accumulateAndGet(ProcessFigures.threads(self), Math::max);
                }
                if (count % step == 0) {
                    System.out.printf("scale: %,d %s, %.1f s%n", count, verb, (System.nanoTime() - begin) / 1e9);
                }
            }
        });
        return System.nanoTime() - begin;
    }

    private static String endOf(JobStatus status) {
        String how = status.signal() != null ? "signal " + status.signal() : "exit code " + status.exitCode();
        return status.state() + (status.stoppedByRequest() ? " by request, " : ", ") + how;
    }

    private static String endOf(int signal) {
        return JobState.EXITED + " by request, signal " + signal;
    }

    private void check(String what, boolean passed, String otherwise) {
        System.out.println((passed ? "PASS " : "FAIL ") + what + (passed ? "" : ": " + otherwise));
        if (!passed) {
            failures.add(what);
        }
    }

    private void figure(String name, String valueFormat, Object... args) {
        String line = String.format(name + ": " + valueFormat, args);
        System.out.println(line);
        figures.add(line);
    }

    private static int jobCgroups() throws IOException {
        try (Stream<Path> children = Files.list(VmDaemon.CGROUP_ROOT)) {
            return (int) children.filter(Files::isDirectory).count();
        }
    }

    private static long pidsCurrent() throws IOException {
        return Long.parseLong(Files.readString(VmDaemon.CGROUP_ROOT.resolve("pids.current")).strip());
    }

    /** Processes whose command line is exactly the sleepers'. */
    private static long sleepers() throws IOException {
        try (Stream<Path> processes = Files.list(Path.of("/proc"))) {
            return processes.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(VmScaleProof::isSleeper)
                    .count();
        }
    }

    private static boolean isSleeper(Path process) {
        try {
            return Arrays.equals(Files.readAllBytes(process.resolve("cmdline")), SLEEPER_CMDLINE);
        } catch (IOException exited) {
            return false;
        }
    }

    /** What would stop the guest from holding {@code jobs} processes and their descriptors: empty if nothing. */
    private static List<String> guestFitsJobs(int jobs) throws IOException {
        long pidMax = sysctl("kernel/pid_max");
        long threadsMax = sysctl("kernel/threads-max");
        long[] openFiles = limit("Max open files");
        long[] processes = limit("Max processes");
        System.out.printf("scale: guest: %d CPUs, MemTotal %,d MiB, kernel.pid_max %,d, kernel.threads-max %,d, "
                        + "RLIMIT_NPROC %,d, RLIMIT_NOFILE %s (holds %,d jobs at %d fds each, %d kept for rund)%n",
                Runtime.getRuntime().availableProcessors(), meminfo("MemTotal") >> 20, pidMax, threadsMax, processes[0],
                openFileLimit(), OpenFileBudget.jobsFitting(openFiles[1]), OpenFileBudget.FILES_PER_JOB,
                OpenFileBudget.RESERVED_FILES);
        List<String> unfit = new ArrayList<>();
        long wanted = jobs + PID_HEADROOM;
        if (pidMax < wanted) {
            unfit.add("kernel.pid_max " + pidMax + " < " + wanted);
        }
        if (threadsMax < wanted) {
            unfit.add("kernel.threads-max " + threadsMax + " < " + wanted + " (give the VM more memory: RUND_VM_MEMORY)");
        }
        if (processes[0] < wanted) {
            unfit.add("RLIMIT_NPROC " + processes[0] + " < " + wanted + " (jobs inherit it and all run as one user)");
        }
        if (OpenFileBudget.jobsFitting(openFiles[1]) < jobs) {
            unfit.add("RLIMIT_NOFILE hard " + openFiles[1] + " holds only " + OpenFileBudget.jobsFitting(openFiles[1])
                    + " jobs (scale.sh raises it with ulimit before starting Java)");
        }
        return unfit;
    }

    /**
     * A numeric sysctl. Read through a buffered reader: Files.readString asks for as many bytes as the file's size
     * (0 in /proc) and so reads one byte first, and a sysctl read that does not start at offset 0 is EOF.
     */
    private static long sysctl(String name) throws IOException {
        return Long.parseLong(Files.readAllLines(Path.of("/proc/sys", name)).getFirst().strip());
    }

    private static String openFileLimit() {
        try {
            long[] limit = limit("Max open files");
            return String.format("%d/%d", limit[0], limit[1]);
        } catch (IOException e) {
            return "unreadable (" + e.getMessage() + ")";
        }
    }

    /** Soft and hard value of one line of /proc/self/limits ("unlimited" as Long.MAX_VALUE). */
    private static long[] limit(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith(name + " ")) {
                String[] words = line.substring(name.length()).trim().split("\\s+");
                return new long[] {parseLimit(words[0]), parseLimit(words[1])};
            }
        }
        throw new IOException("/proc/self/limits has no " + name);
    }

    private static long parseLimit(String value) {
        return value.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(value);
    }

    private static long meminfo(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").strip()) * 1024;
            }
        }
        throw new IOException("/proc/meminfo has no " + field);
    }

    /** The JVM's Java threads by kind (their names with numbers replaced by N), e.g. "rund-blocking-N ×8". */
    private static String javaThreadKinds() {
        Map<String, Long> kinds = Thread.getAllStackTraces().keySet().stream()
                .collect(Collectors.groupingBy(t -> NUMBERS.matcher(t.getName()).replaceAll("N"), TreeMap::new, Collectors.counting()));
        return kinds.entrySet().stream().map(e -> e.getKey() + (e.getValue() > 1 ? " ×" + e.getValue() : ""))
                .collect(Collectors.joining(", "));
    }

    private static String jvmFlags() {
        return String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("-XX:")).toList());
    }

    /** What this JVM and the guest use at one moment; the heap after a full collection. */
    private record Usage(int threads, long heapBytes, long rssBytes, int openFiles, long guestUsedBytes) {
        static Usage now(long pid) throws IOException {
            System.gc();
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            return new Usage(ProcessFigures.threads(pid), heap, ProcessFigures.rssBytes(pid), ProcessFigures.openFiles(pid),
                    meminfo("MemTotal") - meminfo("MemAvailable"));
        }
    }
}
