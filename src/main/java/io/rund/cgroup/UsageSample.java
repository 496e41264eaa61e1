package io.rund.cgroup;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One live reading of a job's cgroup (rund stats, rund top, the per-job metrics): CPU time and throttling, memory
 * and its events, io per device, pids, and pressure. A figure whose controller or file the host does not give the
 * job is empty, never zero, so that "absent" and "none used" stay different.
 */
public record UsageSample(Instant time, Cpu cpu, Optional<Memory> memory, List<DeviceIo> io, Optional<Pids> pids,
                          Optional<Pressure> cpuPressure, Optional<Pressure> memoryPressure,
                          Optional<Pressure> ioPressure) {

    public UsageSample {
        io = List.copyOf(io);
    }

    /** cpu.stat: usage, and the throttling counters where the cpu controller is enabled. */
    public record Cpu(long usageMicros, long userMicros, long systemMicros, OptionalLong periods,
                      OptionalLong throttledPeriods, OptionalLong throttledMicros) {}

    /** memory.current, memory.peak (kernels from 5.19) and memory.events. */
    public record Memory(long currentBytes, OptionalLong peakBytes, long lowEvents, long highEvents, long maxEvents,
                         long oomEvents, long oomKills) {}

    /** One device's line of io.stat; {@code name} is the block device's name under /sys/dev/block, if found. */
    public record DeviceIo(int major, int minor, Optional<String> name, long readBytes, long writeBytes,
                           long readOps, long writeOps) {
        public String device() {
            return major + ":" + minor;
        }
    }

    /** pids.current and pids.max (empty max: "max", no limit). */
    public record Pids(long current, OptionalLong max) {}

    /** One *.pressure file (PSI); {@code full} is absent in cpu.pressure on kernels before 5.13. */
    public record Pressure(Stall some, Optional<Stall> full) {}

    /** One PSI line: the share of time stalled over 10, 60 and 300 s (percent), and the total stall time. */
    public record Stall(double avg10, double avg60, double avg300, long totalMicros) {}
}
