package io.rund.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Reads a {@link UsageSample} from a job's cgroup files. Blocking file reads: call it on a blocking-IO dispatcher,
 * never inside an actor. A cgroup removed meanwhile (the job ended) reads as {@link CgroupGoneException}, so callers
 * can answer with the job's final status instead of an error.
 */
public final class UsageSampler {

    private static final Path SYS_DEV_BLOCK = Path.of("/sys/dev/block");
    private static final String MAX = "max";

    private final Clock clock;

    public UsageSampler(Clock clock) {
        this.clock = clock;
    }

    /** The cgroup no longer exists: the job has ended and its cgroup was removed. */
    public static final class CgroupGoneException extends Exception {
        public CgroupGoneException(Path cgroup) {
            super(cgroup + " no longer exists (the job has ended)");
        }
    }

    public UsageSample sample(Cgroup cgroup) throws CgroupException, CgroupGoneException {
        Path path = cgroup.path();
        ControlFile cpuStat = ControlFile.in(path, "cpu.stat");
        Optional<Map<String, String>> cpu = cpuStat.readKeyedIfPresent();
        if (cpu.isEmpty()) {
            throw new CgroupGoneException(path);
        }
        return new UsageSample(clock.instant(),
                cpu(cpuStat, cpu.get()),
                memory(path),
                io(path),
                pids(path),
                pressure(ControlFile.in(path, "cpu.pressure")),
                pressure(ControlFile.in(path, "memory.pressure")),
                pressure(ControlFile.in(path, "io.pressure")));
    }

    private static UsageSample.Cpu cpu(ControlFile file, Map<String, String> keyed) throws CgroupException {
        return new UsageSample.Cpu(required(file, keyed, "usage_usec"), required(file, keyed, "user_usec"),
                required(file, keyed, "system_usec"), optional(file, keyed, "nr_periods"),
                optional(file, keyed, "nr_throttled"), optional(file, keyed, "throttled_usec"));
    }

    private static Optional<UsageSample.Memory> memory(Path path) throws CgroupException {
        OptionalLong current = ControlFile.in(path, "memory.current").readLongIfPresent();
        if (current.isEmpty()) {
            return Optional.empty();
        }
        ControlFile eventsFile = ControlFile.in(path, "memory.events");
        Map<String, String> events = eventsFile.readKeyedIfPresent().orElse(Map.of());
        return Optional.of(new UsageSample.Memory(current.getAsLong(),
                ControlFile.in(path, "memory.peak").readLongIfPresent(),
                optional(eventsFile, events, "low").orElse(0), optional(eventsFile, events, "high").orElse(0),
                optional(eventsFile, events, "max").orElse(0), optional(eventsFile, events, "oom").orElse(0),
                optional(eventsFile, events, "oom_kill").orElse(0)));
    }

    /** io.stat lines: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..". */
    static List<UsageSample.DeviceIo> io(Path path) throws CgroupException {
        ControlFile file = ControlFile.in(path, "io.stat");
        Optional<String> text = file.readIfPresent();
        List<UsageSample.DeviceIo> devices = new ArrayList<>();
        if (text.isEmpty()) {
            return devices;
        }
        for (String line : text.get().split("\n")) {
            String[] fields = line.strip().split("\\s+");
            if (fields.length < 2 || !fields[0].contains(":")) {
                continue;
            }
            String[] majorMinor = fields[0].split(":", 2);
            Map<String, String> values = new HashMap<>();
            for (int i = 1; i < fields.length; i++) {
                String[] kv = fields[i].split("=", 2);
                if (kv.length == 2) {
                    values.put(kv[0], kv[1]);
                }
            }
            int major = Math.toIntExact(file.parseLong(majorMinor[0]));
            int minor = Math.toIntExact(file.parseLong(majorMinor[1]));
            devices.add(new UsageSample.DeviceIo(major, minor, deviceName(fields[0]),
                    optional(file, values, "rbytes").orElse(0), optional(file, values, "wbytes").orElse(0),
                    optional(file, values, "rios").orElse(0), optional(file, values, "wios").orElse(0)));
        }
        return devices;
    }

    private static Optional<UsageSample.Pids> pids(Path path) throws CgroupException {
        OptionalLong current = ControlFile.in(path, "pids.current").readLongIfPresent();
        if (current.isEmpty()) {
            return Optional.empty();
        }
        ControlFile maxFile = ControlFile.in(path, "pids.max");
        Optional<String> max = maxFile.readIfPresent().map(String::strip);
        OptionalLong limit = max.isEmpty() || max.get().equals(MAX)
                ? OptionalLong.empty() : OptionalLong.of(maxFile.parseLong(max.get()));
        return Optional.of(new UsageSample.Pids(current.getAsLong(), limit));
    }

    /** "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line; empty where PSI is off or absent. */
    static Optional<UsageSample.Pressure> pressure(ControlFile file) throws CgroupException {
        Optional<String> text;
        try {
            text = file.readIfPresent();
        } catch (CgroupException e) {
            // With psi=0 on the kernel command line (or CONFIG_PSI_DEFAULT_DISABLED) the files exist but read EOPNOTSUPP.
            return Optional.empty();
        }
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Optional<UsageSample.Stall> some = Optional.empty();
        Optional<UsageSample.Stall> full = Optional.empty();
        for (String line : text.get().split("\n")) {
            String[] fields = line.strip().split("\\s+");
            if (fields.length < 5) {
                continue;
            }
            Map<String, String> values = new HashMap<>();
            for (int i = 1; i < fields.length; i++) {
                String[] kv = fields[i].split("=", 2);
                if (kv.length == 2) {
                    values.put(kv[0], kv[1]);
                }
            }
            UsageSample.Stall stall = new UsageSample.Stall(decimal(file, values, "avg10"), decimal(file, values, "avg60"),
                    decimal(file, values, "avg300"), optional(file, values, "total").orElse(0));
            if (fields[0].equals("some")) {
                some = Optional.of(stall);
            } else if (fields[0].equals("full")) {
                full = Optional.of(stall);
            }
        }
        if (some.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new UsageSample.Pressure(some.get(), full));
    }

    /** The device's name (sda, nvme0n1, dm-0) from /sys/dev/block/MAJ:MIN, a link into /sys/devices. */
    private static Optional<String> deviceName(String majorMinor) {
        try {
            Path target = Files.readSymbolicLink(SYS_DEV_BLOCK.resolve(majorMinor));
            Path name = target.getFileName();
            return name == null ? Optional.empty() : Optional.of(name.toString());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
    }

    private static long required(ControlFile file, Map<String, String> keyed, String key) throws CgroupException {
        String value = keyed.get(key);
        if (value == null) {
            throw new CgroupException(file.path(), "has no \"" + key + "\" line");
        }
        return file.parseLong(value);
    }

    private static OptionalLong optional(ControlFile file, Map<String, String> keyed, String key) throws CgroupException {
        String value = keyed.get(key);
        return value == null ? OptionalLong.empty() : OptionalLong.of(file.parseLong(value));
    }

    private static double decimal(ControlFile file, Map<String, String> values, String key) throws CgroupException {
        String value = values.get(key);
        if (value == null) {
            throw new CgroupException(file.path(), "has no \"" + key + "=\" field");
        }
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new CgroupException(file.path(), "expected a decimal for " + key + ", found \"" + value + "\"", e);
        }
    }
}
