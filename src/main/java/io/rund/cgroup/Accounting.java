package io.rund.cgroup;

import java.util.OptionalLong;

/**
 * What one job's cgroup has used, read from its control files. CPU time is always there in
 * cgroup v2 (cpu.stat); the rest is empty where the host does not give the job the controller
 * (on a hybrid host: memory, io and pids).
 */
public record Accounting(long cpuUsageMicros, long cpuUserMicros, long cpuSystemMicros,
                         OptionalLong memoryPeakBytes, OptionalLong memoryCurrentBytes,
                         OptionalLong ioReadBytes, OptionalLong ioWriteBytes,
                         OptionalLong pidsCurrent) {
}
