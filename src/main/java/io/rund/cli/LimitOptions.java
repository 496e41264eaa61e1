package io.rund.cli;

import com.google.protobuf.Int64Value;
import com.google.protobuf.StringValue;
import com.google.protobuf.UInt64Value;
import io.rund.proto.v1.IoLimit;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.RdtValues;
import io.rund.resctrl.DomainValues;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The LIMITS of {@code rund start} and {@code rund run}. A limit not given is not sent, so it is not set; values
 * are sent as written (after unit conversion) and judged by the server.
 */
public final class LimitOptions {

    @Option(names = "--cpu-max", paramLabel = "QUOTA",
            description = "CPU time in microseconds per 100000 us period, as cgroup cpu.max (50000 = half a CPU).")
    String cpuMax;

    @Option(names = "--cpus", paramLabel = "CPUS", description = "The same limit in CPUs: 0.5, 1, 2.5.")
    String cpus;

    @Option(names = "--memory-max", paramLabel = "SIZE", description = "memory.max: 512M, 1G (K/M/G/T are powers of 1024).")
    String memoryMax;

    @Option(names = "--memory-high", paramLabel = "SIZE",
            description = "memory.high: above it the job is throttled and reclaimed hard, never OOM-killed for it.")
    String memoryHigh;

    @Option(names = "--memory-swap-max", paramLabel = "SIZE", description = "memory.swap.max.")
    String memorySwapMax;

    @Option(names = "--pids-max", paramLabel = "N", description = "pids.max: most processes and threads at once.")
    String pidsMax;

    @Option(names = "--io-rbps", paramLabel = "[DEVICE=]SIZE",
            description = "Read bytes/s (io.max rbps). DEVICE is a path or MAJ:MIN; default: the device of the working directory. Repeatable.")
    List<String> ioRbps = new ArrayList<>();

    @Option(names = "--io-wbps", paramLabel = "[DEVICE=]SIZE", description = "Write bytes/s (io.max wbps). Repeatable.")
    List<String> ioWbps = new ArrayList<>();

    @Option(names = "--io-riops", paramLabel = "[DEVICE=]N", description = "Read operations/s (io.max riops). Repeatable.")
    List<String> ioRiops = new ArrayList<>();

    @Option(names = "--io-wiops", paramLabel = "[DEVICE=]N", description = "Write operations/s (io.max wiops). Repeatable.")
    List<String> ioWiops = new ArrayList<>();

    @Option(names = "--l3-cache-mask", paramLabel = "[ID=]HEX[,ID=HEX]",
            description = "Intel RDT: the L3 cache ways the job may fill, a contiguous hex bitmask (ff0), for every cache"
                    + " domain or by domain id (0=ffff,1=f0). Needs resctrl on the host.")
    String l3CacheMask;

    @Option(names = "--memory-bandwidth", paramLabel = "[ID=]PERCENT[,ID=PERCENT]",
            description = "Intel RDT: the share of memory bandwidth, in percent (the host rounds it up to its step),"
                    + " for every cache domain or by domain id (0=20,1=70). Needs resctrl on the host.")
    String memoryBandwidth;

    private enum IoField { RBPS, WBPS, RIOPS, WIOPS }

    public Limits toProto() throws CliException {
        Limits.Builder limits = Limits.newBuilder();
        if (cpuMax != null && cpus != null) {
            throw new CliException(ExitCodes.USAGE, "--cpu-max and --cpus set the same limit: give one of them");
        }
        if (cpuMax != null) {
            limits.setCpuMaxQuotaMicros(wrap(Quantities.count("--cpu-max", cpuMax)));
        }
        if (cpus != null) {
            limits.setCpuMaxQuotaMicros(wrap(Quantities.cpuQuota("--cpus", cpus)));
        }
        if (limits.hasCpuMaxQuotaMicros()) {
            limits.setCpuMaxPeriodMicros(wrap(Quantities.CPU_PERIOD_MICROS));
        }
        if (memoryMax != null) {
            limits.setMemoryMaxBytes(wrap(Quantities.bytes("--memory-max", memoryMax)));
        }
        if (memoryHigh != null) {
            limits.setMemoryHighBytes(wrap(Quantities.bytes("--memory-high", memoryHigh)));
        }
        if (memorySwapMax != null) {
            limits.setMemorySwapMaxBytes(wrap(Quantities.bytes("--memory-swap-max", memorySwapMax)));
        }
        if (pidsMax != null) {
            limits.setPidsMax(wrap(Quantities.count("--pids-max", pidsMax)));
        }
        Map<String, IoLimit.Builder> byDevice = new LinkedHashMap<>();
        addIo(byDevice, "--io-rbps", ioRbps, IoField.RBPS);
        addIo(byDevice, "--io-wbps", ioWbps, IoField.WBPS);
        addIo(byDevice, "--io-riops", ioRiops, IoField.RIOPS);
        addIo(byDevice, "--io-wiops", ioWiops, IoField.WIOPS);
        byDevice.values().forEach(limits::addIo);
        if (l3CacheMask != null) {
            limits.setL3CacheMask(rdtValues("--l3-cache-mask", l3CacheMask, HEX));
        }
        if (memoryBandwidth != null) {
            limits.setMemoryBandwidthPercent(rdtValues("--memory-bandwidth", memoryBandwidth.replace("%", ""), DECIMAL));
        }
        return limits.build();
    }

    private static final int HEX = 16;
    private static final int DECIMAL = 10;

    /** "VALUE" or "ID=VALUE[,ID=VALUE]" as sent: one value for every cache domain, or values by domain id. */
    private static RdtValues rdtValues(String option, String text, int radix) throws CliException {
        DomainValues values;
        try {
            values = DomainValues.parse(text, radix);
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.USAGE, option + ": " + e.getMessage());
        }
        RdtValues.Builder proto = RdtValues.newBuilder();
        values.everyDomain().ifPresent(value -> proto.setEveryDomain(UInt64Value.of(value)));
        values.byDomain().forEach(proto::putByDomain);
        return proto.build();
    }

    private static void addIo(Map<String, IoLimit.Builder> byDevice, String option, List<String> values, IoField field)
            throws CliException {
        for (String value : values) {
            int equals = value.lastIndexOf('=');
            String device = equals < 0 ? "" : value.substring(0, equals);
            String amount = value.substring(equals + 1);
            if (equals >= 0 && device.isEmpty()) {
                throw new CliException(ExitCodes.USAGE, option + ": '" + value + "' names an empty device; write DEVICE=VALUE or VALUE");
            }
            IoLimit.Builder io = byDevice.computeIfAbsent(device, d -> d.isEmpty()
                    ? IoLimit.newBuilder()
                    : IoLimit.newBuilder().setDevice(StringValue.of(d)));
            switch (field) {
                case RBPS -> io.setRbps(wrap(Quantities.bytes(option, amount)));
                case WBPS -> io.setWbps(wrap(Quantities.bytes(option, amount)));
                case RIOPS -> io.setRiops(wrap(Quantities.count(option, amount)));
                case WIOPS -> io.setWiops(wrap(Quantities.count(option, amount)));
            }
        }
    }

    private static Int64Value wrap(long value) {
        return Int64Value.of(value);
    }
}
