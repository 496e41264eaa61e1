package io.rund.vm;

import io.rund.cgroup.IoLimit;
import io.rund.cgroup.Limits;
import io.rund.job.JobSpec;
import io.rund.job.JobStatus;
import io.rund.logs.LogStream;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Proves, inside a VM whose kernel runs pure cgroup v2, that the limits rund writes are enforced. It drives the
 * real daemon (cgroup manager, spawner, job actors, registry) and measures what the kernel did: each check prints
 * one line with its figure, and the exit status is the verdict. Run by src/test/vm/limits.sh, not by the unit
 * tests: the host is hybrid and has no limit files.
 */
public final class VmLimitsProof {

    private static final long MIB = 1 << 20;
    /** The tolerance the issue allows around a measured rate. */
    private static final double RATE_TOLERANCE = 0.20;
    private static final Pattern DD_COPIED = Pattern.compile("(\\d+) bytes .* copied, ([\\d.]+) s");

    private final VmDaemon daemon;
    private final Path disk;
    private final String diskDevice;
    private final List<String> failures = new ArrayList<>();

    private VmLimitsProof(VmDaemon daemon, Path disk, String diskDevice) {
        this.daemon = daemon;
        this.disk = disk;
        this.diskDevice = diskDevice;
    }

    public static void main(String[] args) throws Exception {
        Path disk = Path.of(VmDaemon.env("RUND_VM_DISK_MOUNT"));
        String device = VmDaemon.env("RUND_VM_DISK");
        Files.setPosixFilePermissions(disk, PosixFilePermissions.fromString("rwxrwxrwx"));
        VmDaemon daemon = VmDaemon.start(Map.of());
        VmLimitsProof proof = new VmLimitsProof(daemon, disk, device);
        try {
            proof.runAll();
        } finally {
            daemon.shutdown();
        }
        if (proof.failures.isEmpty()) {
            System.out.println("ALL LIMIT CHECKS PASSED");
            System.exit(0);
        }
        System.out.println("FAILED: " + String.join("; ", proof.failures));
        System.exit(1);
    }

    private void runAll() throws Exception {
        String majMin = Files.readString(Path.of("/sys/class/block", Path.of(diskDevice).getFileName().toString(), "dev")).trim();
        check("limits not requested are not written", this::unrequestedLimitsStayMax);
        check("limits are written exactly", () -> limitsReadBackExactly(majMin));
        check("memory.max", this::memoryMaxOomKills);
        check("memory.max on a child forked after start", this::memoryMaxAppliesToLaterChildren);
        check("cpu.max", this::cpuMaxHoldsTwentyPercent);
        check("pids.max", this::pidsMaxStopsForks);
        check("io.max wbps (device as MAJ:MIN)", () -> ioRate(IoLimit.onDevice(majMin).withWbps(2 * MIB), 2 * MIB,
                "dd if=/dev/zero of=w.bin bs=64k count=128 oflag=direct", "bytes"));
        check("io.max rbps (device as a path)", () -> ioRate(IoLimit.onDevice(diskDevice).withRbps(2 * MIB), 2 * MIB,
                "dd if=w.bin of=/dev/null bs=64k count=128 iflag=direct", "bytes"));
        check("io.max wiops (device as a file on it)", () -> ioRate(IoLimit.onDevice(disk.resolve("w.bin").toString()).withWiops(100), 100,
                "dd if=/dev/zero of=iops.bin bs=4k count=300 oflag=direct", "ops"));
        check("io.max riops (device backing the working directory)", () -> ioRate(IoLimit.onWorkingDirectoryDevice().withRiops(100), 100,
                "dd if=iops.bin of=/dev/null bs=4k count=300 iflag=direct", "ops"));
    }

    private interface Check {
        String run() throws Exception;
    }

    private void check(String name, Check check) {
        try {
            System.out.println("PASS " + name + ": " + check.run());
        } catch (AssertionError | Exception e) {
            System.out.println("FAIL " + name + ": " + e.getMessage());
            failures.add(name);
        }
        System.out.flush();
    }

    private String unrequestedLimitsStayMax() throws Exception {
        String id = daemon.start(JobSpec.of("sleep", "30").withLimits(Limits.none().withMemoryMax(64 * MIB)));
        try {
            Path cg = VmDaemon.cgroupOf(id);
            expect("64M written", "67108864", read(cg, "memory.max"));
            expect("cpu.max untouched", "max 100000", read(cg, "cpu.max"));
            expect("pids.max untouched", "max", read(cg, "pids.max"));
            expect("io.max untouched", "", read(cg, "io.max"));
            expect("memory.swap.max untouched", "max", read(cg, "memory.swap.max"));
            return "only memory.max written; cpu.max, pids.max, memory.swap.max read \"max\", io.max empty";
        } finally {
            daemon.stop(id);
        }
    }

    private String limitsReadBackExactly(String majMin) throws Exception {
        Limits all = Limits.none().withCpuMax(20000, 50000).withMemoryMax(48 * MIB).withMemorySwapMax(0).withPidsMax(16)
                .withIo(IoLimit.onDevice(majMin).withRbps(3 * MIB).withWbps(2 * MIB).withRiops(300).withWiops(200));
        String id = daemon.start(JobSpec.of("sleep", "30").withLimits(all));
        try {
            Path cg = VmDaemon.cgroupOf(id);
            expect("cpu.max", "20000 50000", read(cg, "cpu.max"));
            expect("memory.max", "" + 48 * MIB, read(cg, "memory.max"));
            expect("memory.swap.max", "0", read(cg, "memory.swap.max"));
            expect("pids.max", "16", read(cg, "pids.max"));
            expect("io.max", majMin + " rbps=" + 3 * MIB + " wbps=" + 2 * MIB + " riops=300 wiops=200", read(cg, "io.max"));
            return "cpu.max, memory.max, memory.swap.max, pids.max, io.max read back as written";
        } finally {
            daemon.stop(id);
        }
    }

    private String memoryMaxOomKills() throws Exception {
        // dd's 200 MiB buffer is filled from /dev/zero: every page is touched.
        JobStatus status = daemon.run(JobSpec.of("dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1")
                .withLimits(Limits.none().withMemoryMax(50 * MIB).withMemorySwapMax(0)));
        expect("killed by SIGKILL", 9, status.signal());
        expect("reported as OOM-killed", true, status.oomKilled());
        long peak = status.usage().memoryPeakBytes().orElseThrow();
        if (peak > 50 * MIB) {
            throw new AssertionError("peak " + peak + " above the 50 MiB limit");
        }
        return String.format("memory.max 50 MiB, swap 0: a 200 MiB toucher was OOM-killed (signal 9, oomKilled); "
                + "accounting at exit: peak %.1f MiB, cpu time %d ms", peak / (double) MIB, status.usage().cpuUsageMicros() / 1000);
    }

    private String memoryMaxAppliesToLaterChildren() throws Exception {
        String id = daemon.start(JobSpec.of("sh", "-c", "sleep 1; dd if=/dev/zero of=/dev/null bs=200M count=1; echo rc=$?")
                .withLimits(Limits.none().withMemoryMax(50 * MIB).withMemorySwapMax(0)));
        JobStatus status = daemon.awaitEnd(id);
        String out = daemon.output(id, LogStream.STDOUT);
        expect("the parent shell survives", 0, status.exitCode());
        if (!out.contains("rc=137")) {
            throw new AssertionError("the child forked after start was not OOM-killed: " + out);
        }
        expect("reported as OOM-killed", true, status.oomKilled());
        return "a dd forked 1 s after start was OOM-killed (rc=137), its parent lived, status oomKilled";
    }

    private String cpuMaxHoldsTwentyPercent() throws Exception {
        String id = daemon.start(JobSpec.of("sh", "-c", "while :; do :; done")
                .withLimits(Limits.none().withCpuMax(20000, 100000)));
        try {
            Path cg = VmDaemon.cgroupOf(id);
            Thread.sleep(1000);
            // Three windows, median judged: under host contention a descheduled vCPU is charged to the running job,
            // so one window can overcount; a wrong limit is wrong in every window.
            double[] shares = new double[3];
            for (int i = 0; i < shares.length; i++) {
                long usage0 = stat(cg, "cpu.stat", "usage_usec");
                long t0 = System.nanoTime();
                Thread.sleep(2000);
                long usage1 = stat(cg, "cpu.stat", "usage_usec");
                shares[i] = (usage1 - usage0) / ((System.nanoTime() - t0) / 1000.0);
            }
            double[] sorted = shares.clone();
            java.util.Arrays.sort(sorted);
            double share = sorted[1];
            long throttled = stat(cg, "cpu.stat", "nr_throttled");
            String windows = String.format("%.1f%%, %.1f%%, %.1f%%", shares[0] * 100, shares[1] * 100, shares[2] * 100);
            if (Math.abs(share - 0.20) > 0.05) {
                throw new AssertionError(String.format("used %.1f%% of one CPU (median of %s), not 20%% ± 5%%", share * 100, windows));
            }
            if (throttled == 0) {
                throw new AssertionError("nr_throttled is 0");
            }
            return String.format("cpu.max 20000/100000 → %.1f%% of one CPU (median of 3 windows of 2 s: %s), nr_throttled %d",
                    share * 100, windows, throttled);
        } finally {
            daemon.stop(id);
        }
    }

    private String pidsMaxStopsForks() throws Exception {
        // A shell dies at its first failed fork, so a subshell does the forking; the job's main process then
        // execs (no fork) and lives on until it is stopped.
        String id = daemon.start(JobSpec.of("sh", "-c",
                        "(for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 60 & done) 2>/dev/null; echo forked; exec sleep 60")
                .withLimits(Limits.none().withPidsMax(5)));
        Path cg = VmDaemon.cgroupOf(id);
        daemon.awaitOutput(id, "forked");
        long current = Long.parseLong(read(cg, "pids.current"));
        long refused = stat(cg, "pids.events", "max");
        if (current > 5 || refused == 0) {
            throw new AssertionError("pids.current " + current + ", forks refused " + refused);
        }
        JobStatus stopped = daemon.stop(id);
        expect("stopped cleanly", "EXITED", stopped.state().name());
        if (Files.exists(cg)) {
            throw new AssertionError("cgroup " + cg + " left after stop");
        }
        return "pids.max 5: 12 forks attempted, pids.current " + current + ", " + refused
                + " forks refused (pids.events max), job stopped cleanly and its cgroup removed";
    }

    /** Runs a dd under an io.max limit in the disk's directory and compares dd's own rate with the limit. */
    private String ioRate(IoLimit limit, long expectedPerSecond, String ddCommand, String unit) throws Exception {
        JobSpec spec = JobSpec.of("sh", "-c", ddCommand).withWorkingDirectory(disk).withLimits(Limits.none().withIo(limit));
        String id = daemon.start(spec);
        JobStatus status = daemon.awaitEnd(id);
        String err = daemon.output(id, LogStream.STDERR);
        expect("dd exit code (" + err.strip() + ")", 0, status.exitCode());
        Matcher m = DD_COPIED.matcher(err);
        if (!m.find()) {
            throw new AssertionError("no dd summary in: " + err);
        }
        long bytes = Long.parseLong(m.group(1));
        double seconds = Double.parseDouble(m.group(2));
        long blockSize = ddCommand.contains("bs=4k") ? 4096 : 65536;
        double measured = (unit.equals("ops") ? bytes / (double) blockSize : bytes) / seconds;
        double ratio = measured / expectedPerSecond;
        if (Math.abs(ratio - 1) > RATE_TOLERANCE) {
            throw new AssertionError(String.format("%.0f %s/s measured, limit %d (%.0f%%)", measured, unit, expectedPerSecond, ratio * 100));
        }
        String accounting = unit.equals("bytes")
                ? String.format(", accounting at exit: read %d B, written %d B",
                status.usage().ioReadBytes().orElse(-1), status.usage().ioWriteBytes().orElse(-1))
                : "";
        return String.format("limit %d %s/s → %.0f %s/s measured (%.0f%% of the limit) over %.1f s%s",
                expectedPerSecond, unit, measured, unit, ratio * 100, seconds, accounting);
    }

    private static String read(Path cgroup, String file) throws Exception {
        return Files.readString(cgroup.resolve(file)).strip();
    }

    private static long stat(Path cgroup, String file, String key) throws Exception {
        for (String line : Files.readAllLines(cgroup.resolve(file))) {
            String[] kv = line.split(" ");
            if (kv[0].equals(key)) {
                return Long.parseLong(kv[1]);
            }
        }
        throw new AssertionError(file + " has no " + key);
    }

    private static void expect(String what, Object expected, Object actual) {
        if (!expected.equals(actual)) {
            throw new AssertionError(what + ": expected " + expected + ", got " + actual);
        }
    }
}
