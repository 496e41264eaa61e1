package io.rund.cgroup;

import io.rund.linux.FsCredentials;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The control-file writes that enforce one job's {@link Limits}: values validated, io devices
 * resolved to whole disks, exactly one line per limit asked for and none for the rest. Planned
 * before the cgroup exists, so a refusal leaves nothing behind.
 */
final class LimitWrites {

    /** Write {@code value} to the control file {@code file} of the job's cgroup. */
    record Write(String file, String value) {
    }

    private LimitWrites() {
    }

    static List<Write> plan(Limits limits, Path workingDirectory) throws InvalidLimitException {
        return plan(limits, workingDirectory, FsCredentials.DAEMON);
    }

    /** The writes, with io device paths looked at as {@code user} would see them. */
    static List<Write> plan(Limits limits, Path workingDirectory, FsCredentials user) throws InvalidLimitException {
        limits.validate();
        List<Write> writes = new ArrayList<>();
        limits.cpuMaxQuotaMicros().ifPresent(quota -> writes.add(new Write("cpu.max",
                quota + " " + limits.cpuMaxPeriodMicros().orElse(Limits.DEFAULT_CPU_PERIOD_MICROS))));
        limits.memoryMaxBytes().ifPresent(bytes -> writes.add(new Write("memory.max", Long.toString(bytes))));
        limits.memoryHighBytes().ifPresent(bytes -> writes.add(new Write("memory.high", Long.toString(bytes))));
        limits.memorySwapMaxBytes().ifPresent(bytes -> writes.add(new Write("memory.swap.max", Long.toString(bytes))));
        limits.pidsMax().ifPresent(pids -> writes.add(new Write("pids.max", Long.toString(pids))));
        for (Map.Entry<BlockDevice, IoLimit> device : byDevice(limits.io(), workingDirectory, user).entrySet()) {
            writes.add(new Write("io.max", ioMaxLine(device.getKey(), device.getValue())));
        }
        return List.copyOf(writes);
    }

    /**
     * The writes of a running job's {@code change}: those of the limits it sets (a cpu-max quota without a period
     * written alone, so the period in force stays), then "max" for each limit it lifts.
     */
    static List<Write> planChange(LimitChange change, Path workingDirectory, FsCredentials user)
            throws InvalidLimitException {
        change.validate();
        List<Write> writes = new ArrayList<>();
        for (Write write : plan(change.set(), workingDirectory, user)) {
            boolean quotaAlone = write.file().equals("cpu.max") && change.set().cpuMaxPeriodMicros().isEmpty();
            writes.add(quotaAlone ? new Write("cpu.max", Long.toString(change.set().cpuMaxQuotaMicros().getAsLong())) : write);
        }
        for (String lifted : change.lifted()) {
            writes.add(new Write(LimitChange.LIFTABLE.get(lifted), "max"));
        }
        return List.copyOf(writes);
    }

    private static Map<BlockDevice, IoLimit> byDevice(List<IoLimit> limits, Path workingDirectory, FsCredentials user)
            throws InvalidLimitException {
        Map<BlockDevice, IoLimit> byDevice = new LinkedHashMap<>();
        for (IoLimit limit : limits) {
            BlockDevice device = BlockDevices.resolve(limit.device(), workingDirectory, user);
            IoLimit earlier = byDevice.putIfAbsent(device, limit);
            if (earlier != null) {
                throw new InvalidLimitException("io", "two limits for block device " + device + " ("
                        + named(earlier) + " and " + named(limit) + "); give one per device");
            }
        }
        return byDevice;
    }

    private static String named(IoLimit limit) {
        return limit.device().orElse("the working directory's device");
    }

    /** "MAJ:MIN rbps=N wbps=N riops=N wiops=N" with only the keys given. */
    private static String ioMaxLine(BlockDevice device, IoLimit limit) {
        StringBuilder line = new StringBuilder(device.toString());
        appendKey(line, "rbps", limit.rbps());
        appendKey(line, "wbps", limit.wbps());
        appendKey(line, "riops", limit.riops());
        appendKey(line, "wiops", limit.wiops());
        return line.toString();
    }

    private static void appendKey(StringBuilder line, String key, OptionalLong value) {
        value.ifPresent(v -> line.append(' ').append(key).append('=').append(v));
    }
}
