package io.rund.cgroup;

import io.rund.linux.CgroupEventWatcher;
import io.rund.linux.LinuxException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * One job's cgroup: its processes, freeze state, kill switch, accounting and removal. Made by
 * {@link CgroupManager#create}; only the job's owner touches it, so it holds no locks. Emptying is
 * an event ({@link #whenEmpty}: no thread waits); the short blocking waits (freeze, thaw, and
 * {@link #awaitEmpty} for the start-up sweep) poll {@code cgroup.events} with growing sleeps.
 */
public final class Cgroup {
    /** How long {@link #freeze()} and {@link #thaw()} wait for the kernel to confirm. */
    public static final Duration DEFAULT_FREEZE_TIMEOUT = Duration.ofSeconds(10);
    private static final long FIRST_POLL_SLEEP_NANOS = Duration.ofMillis(1).toNanos();
    private static final long LONGEST_POLL_SLEEP_NANOS = Duration.ofMillis(50).toNanos();
    private static final String EVENTS = "cgroup.events";

    private final String name;
    private final Path path;

    Cgroup(String name, Path path) {
        this.name = Objects.requireNonNull(name, "name");
        this.path = Objects.requireNonNull(path, "path");
    }

    public String name() {
        return name;
    }

    public Path path() {
        return path;
    }

    /** Whether any process lives in this cgroup or below it ({@code cgroup.events} populated). */
    public boolean populated() throws CgroupException {
        return isOne(ControlFile.in(path, EVENTS).readKey("populated"));
    }

    /** Whether the cgroup's directory still exists (a job's cgroup is removed once the job has ended). */
    public boolean exists() {
        return Files.isDirectory(path);
    }

    /** Freezes every process in the cgroup and waits until the kernel reports it frozen. */
    public void freeze() throws CgroupException {
        freeze(DEFAULT_FREEZE_TIMEOUT);
    }

    public void freeze(Duration timeout) throws CgroupException {
        setFrozen(true, timeout);
    }

    /** Lets the processes run again and waits until the kernel reports the cgroup thawed. */
    public void thaw() throws CgroupException {
        thaw(DEFAULT_FREEZE_TIMEOUT);
    }

    public void thaw(Duration timeout) throws CgroupException {
        setFrozen(false, timeout);
    }

    /** The processes directly in this cgroup ({@code cgroup.procs}). */
    public List<Integer> pids() throws CgroupException {
        ControlFile procs = ControlFile.in(path, "cgroup.procs");
        List<Integer> pids = new ArrayList<>();
        for (String line : procs.read().split("\n")) {
            if (!line.isBlank()) {
                pids.add(Math.toIntExact(procs.parseLong(line.strip())));
            }
        }
        return List.copyOf(pids);
    }

    /** SIGKILLs every process in the cgroup and below it, in one write to {@code cgroup.kill}. */
    public void kill() throws CgroupException {
        ControlFile.in(path, "cgroup.kill").write("1");
    }

    /**
     * Calls {@code onEmpty} once, on the event thread of {@code events}, when no process is left in the cgroup (at
     * once if none is now). Holds one fd until then, or until the watch is cancelled; no thread waits.
     */
    public CgroupEventWatcher.Watch whenEmpty(CgroupEventWatcher events, Runnable onEmpty) throws CgroupException {
        try {
            return events.whenEmpty(path, onEmpty);
        } catch (LinuxException e) {
            throw new CgroupException(path.resolve(EVENTS), "cannot watch for the cgroup to empty: " + e.getMessage(), e);
        }
    }

    /** Waits until no process is left in the cgroup; false if some still are after the timeout. */
    public boolean awaitEmpty(Duration timeout) throws CgroupException {
        return awaitEvent("populated", false, timeout);
    }

    /** CPU time (always present), memory, io and pids counters where the controller is enabled. */
    public Accounting accounting() throws CgroupException {
        ControlFile cpuStat = ControlFile.in(path, "cpu.stat");
        Map<String, String> cpu = cpuStat.readKeyed();
        OptionalLong ioRead = OptionalLong.empty();
        OptionalLong ioWrite = OptionalLong.empty();
        ControlFile ioStat = ControlFile.in(path, "io.stat");
        var ioText = ioStat.readIfPresent();
        if (ioText.isPresent()) {
            long read = 0;
            long written = 0;
            for (String line : ioText.get().split("\n")) {
                for (String field : line.strip().split("\\s+")) {
                    if (field.startsWith("rbytes=")) {
                        read += ioStat.parseLong(field.substring("rbytes=".length()));
                    } else if (field.startsWith("wbytes=")) {
                        written += ioStat.parseLong(field.substring("wbytes=".length()));
                    }
                }
            }
            ioRead = OptionalLong.of(read);
            ioWrite = OptionalLong.of(written);
        }
        return new Accounting(
                cpuCounter(cpuStat, cpu, "usage_usec"),
                cpuCounter(cpuStat, cpu, "user_usec"),
                cpuCounter(cpuStat, cpu, "system_usec"),
                ControlFile.in(path, "memory.peak").readLongIfPresent(),
                ControlFile.in(path, "memory.current").readLongIfPresent(),
                ioRead,
                ioWrite,
                ControlFile.in(path, "pids.current").readLongIfPresent());
    }

    /** Whether the kernel's OOM killer killed a process here ({@code memory.events} oom_kill). */
    public boolean oomKilled() throws CgroupException {
        ControlFile events = ControlFile.in(path, "memory.events");
        var keyed = events.readKeyedIfPresent();
        if (keyed.isEmpty()) {
            return false;
        }
        String kills = keyed.get().get("oom_kill");
        return kills != null && events.parseLong(kills) > 0;
    }

    /** The raw content of one of this cgroup's control files (for tests and diagnostics). */
    public String read(String file) throws CgroupException {
        if (file.isEmpty() || file.contains("/") || file.equals(".") || file.equals("..")) {
            throw new IllegalArgumentException("not a control file name: \"" + file + "\"");
        }
        return ControlFile.in(path, file).read();
    }

    /**
     * Removes the cgroup (and any cgroups the job made below it). Refuses while a process is
     * still in it: kill it and {@link #awaitEmpty} first. The common case, an empty cgroup without
     * children, is one rmdir, which needs no file descriptor (so it works at EMFILE too); the
     * kernel refuses it (EBUSY) for a populated cgroup or one with children, and only then are the
     * cgroup's files read.
     */
    public void remove() throws CgroupException {
        try {
            Files.delete(path);
            return;
        } catch (NoSuchFileException e) {
            return; // already gone: removal is what was asked for
        } catch (IOException busy) {
            // Populated, or it has child cgroups: find out which below.
        }
        if (populated()) {
            throw new CgroupException(path, "cannot remove: processes are still in it (kill and await empty first)");
        }
        removeTree(path);
    }

    @Override
    public String toString() {
        return "Cgroup[" + path + "]";
    }

    /** rmdir, deepest first: a cgroup with child cgroups cannot be removed. */
    static void removeTree(Path cgroup) throws CgroupException {
        for (Path child : childCgroups(cgroup)) {
            removeTree(child);
        }
        try {
            Files.delete(cgroup);
        } catch (NoSuchFileException e) {
            // Already gone: removal is what was asked for.
        } catch (IOException e) {
            throw new CgroupException(cgroup, "cannot remove: " + e.getMessage(), e);
        }
    }

    /** The cgroups directly below one, by name. */
    static List<Path> childCgroups(Path cgroup) throws CgroupException {
        try (Stream<Path> entries = Files.list(cgroup)) {
            return entries.filter(Files::isDirectory).sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new CgroupException(cgroup, "cannot list child cgroups: " + e.getMessage(), e);
        }
    }

    private void setFrozen(boolean frozen, Duration timeout) throws CgroupException {
        ControlFile.in(path, "cgroup.freeze").write(frozen ? "1" : "0");
        if (!awaitEvent("frozen", frozen, timeout)) {
            throw new CgroupException(path.resolve(EVENTS), "still not \"frozen " + (frozen ? 1 : 0)
                    + "\" after " + timeout);
        }
    }

    /** Polls a 0/1 key of cgroup.events until it has the wanted value or the timeout passes. */
    private boolean awaitEvent(String key, boolean wanted, Duration timeout) throws CgroupException {
        ControlFile events = ControlFile.in(path, EVENTS);
        long deadline = System.nanoTime() + timeout.toNanos();
        long sleepNanos = FIRST_POLL_SLEEP_NANOS;
        while (true) {
            if (isOne(events.readKey(key)) == wanted) {
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                Thread.sleep(Duration.ofNanos(Math.min(sleepNanos, left)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CgroupException(events.path(), "interrupted while waiting for " + key + " "
                        + (wanted ? 1 : 0), e);
            }
            sleepNanos = Math.min(sleepNanos * 2, LONGEST_POLL_SLEEP_NANOS);
        }
    }

    private static boolean isOne(String value) {
        return value.strip().equals("1");
    }

    private static long cpuCounter(ControlFile cpuStat, Map<String, String> cpu, String key) throws CgroupException {
        String value = cpu.get(key);
        if (value == null) {
            throw new CgroupException(cpuStat.path(), "has no \"" + key + "\" line");
        }
        return cpuStat.parseLong(value);
    }

    /**
     * The limits in force, read back from the control files: what the kernel holds (memory values rounded down to
     * whole pages, say), not what was asked. A limit at "max", or whose controller is not enabled here, is absent.
     */
    public Limits limitsInForce() throws CgroupException {
        OptionalLong quota = OptionalLong.empty();
        OptionalLong period = OptionalLong.empty();
        var cpuMax = ControlFile.in(path, "cpu.max").readIfPresent();
        if (cpuMax.isPresent()) {
            String[] quotaAndPeriod = cpuMax.get().strip().split("\\s+");
            quota = limitValue(ControlFile.in(path, "cpu.max"), quotaAndPeriod[0]);
            if (quotaAndPeriod.length > 1) {
                period = limitValue(ControlFile.in(path, "cpu.max"), quotaAndPeriod[1]);
            }
        }
        List<IoLimit> io = new ArrayList<>();
        ControlFile ioMax = ControlFile.in(path, "io.max");
        for (String line : ioMax.readIfPresent().orElse("").split("\n")) {
            if (!line.isBlank()) {
                io.add(ioLimitOf(ioMax, line.strip()));
            }
        }
        return new Limits(quota, quota.isPresent() ? period : OptionalLong.empty(), limitIn("memory.max"),
                limitIn("memory.high"), limitIn("memory.swap.max"), limitIn("pids.max"), io);
    }

    /** memory.events' oom_kill count: processes the OOM killer ended in this cgroup; 0 without the memory controller. */
    public long oomKills() throws CgroupException {
        ControlFile events = ControlFile.in(path, "memory.events");
        var values = events.readKeyedIfPresent();
        return values.isEmpty() ? 0 : events.parseLong(values.get().getOrDefault("oom_kill", "0"));
    }

    /** One write to a control file of this cgroup (a limit change: {@link CgroupManager#update}). */
    void write(String file, String value) throws CgroupException {
        ControlFile.in(path, file).write(value);
    }

    private OptionalLong limitIn(String file) throws CgroupException {
        ControlFile control = ControlFile.in(path, file);
        var text = control.readIfPresent();
        return text.isEmpty() ? OptionalLong.empty() : limitValue(control, text.get().strip());
    }

    private static OptionalLong limitValue(ControlFile file, String text) throws CgroupException {
        return text.equals("max") ? OptionalLong.empty() : OptionalLong.of(file.parseLong(text));
    }

    /** "MAJ:MIN rbps=N wbps=max riops=max wiops=max": the device as MAJ:MIN, each key at "max" absent. */
    private static IoLimit ioLimitOf(ControlFile file, String line) throws CgroupException {
        String[] parts = line.split("\\s+");
        IoLimit limit = IoLimit.onDevice(parts[0]);
        for (int i = 1; i < parts.length; i++) {
            int equals = parts[i].indexOf('=');
            if (equals < 0) {
                throw new CgroupException(file.path(), "malformed line \"" + line + "\"");
            }
            OptionalLong value = limitValue(file, parts[i].substring(equals + 1));
            if (value.isEmpty()) {
                continue;
            }
            long v = value.getAsLong();
            limit = switch (parts[i].substring(0, equals)) {
                case "rbps" -> limit.withRbps(v);
                case "wbps" -> limit.withWbps(v);
                case "riops" -> limit.withRiops(v);
                case "wiops" -> limit.withWiops(v);
                default -> limit; // a key a later kernel adds
            };
        }
        return limit;
    }

    /** memory.events' oom_kill and pids.events' max counts ({@link EventCounters}); 0 where a controller is not enabled. */
    public EventCounters eventCounters() throws CgroupException {
        ControlFile pidsEvents = ControlFile.in(path, "pids.events");
        var pids = pidsEvents.readKeyedIfPresent();
        return new EventCounters(oomKills(),
                pids.isEmpty() ? 0 : pidsEvents.parseLong(pids.get().getOrDefault("max", "0")));
    }
}
