package io.rund.cgroup;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;

import io.rund.resctrl.DomainValues;

/**
 * The resource limits asked for one job, as cgroup v2 will enforce them. A limit that is absent
 * is not written at all (the kernel default stays); {@link #validate()} checks every value
 * against the kernel's accepted range before anything touches the file system. The Intel RDT settings (an L3 cache
 * mask, a memory-bandwidth percentage) are enforced through resctrl, not the cgroup: no controller is needed for
 * them, and {@link io.rund.resctrl.RdtSchemata} checks them against the host.
 */
public record Limits(OptionalLong cpuMaxQuotaMicros, OptionalLong cpuMaxPeriodMicros,
                     OptionalLong memoryMaxBytes, OptionalLong memoryHighBytes, OptionalLong memorySwapMaxBytes,
                     OptionalLong pidsMax, List<IoLimit> io, Optional<DomainValues> l3CacheMask,
                     Optional<DomainValues> memoryBandwidthPercent) {

    /** The kernel refuses a cpu.max quota below 1 ms. */
    public static final long CPU_QUOTA_FLOOR_MICROS = 1_000;
    /** The kernel's max_cfs_runtime: 2^(64 - BW_SHIFT) - 1 µs, BW_SHIFT being 20. */
    public static final long CPU_QUOTA_MAX_MICROS = (1L << 44) - 1;
    /** The kernel accepts cpu.max periods from 1 ms ... */
    public static final long CPU_PERIOD_MIN_MICROS = 1_000;
    /** ... to 1 s. */
    public static final long CPU_PERIOD_MAX_MICROS = 1_000_000;
    /** cpu.max's own default period, used when only a quota is given. */
    public static final long DEFAULT_CPU_PERIOD_MICROS = 100_000;
    /** Below this a job cannot even exec a program; a smaller value is a unit mistake. */
    public static final long MEMORY_FLOOR_BYTES = 1L << 20;
    /** pids.max accepts at most PID_MAX_LIMIT on 64-bit kernels. */
    public static final long PIDS_MAX_LIMIT = 4_194_304;
    /** A memory-bandwidth share is a percentage of the domain's bandwidth. */
    public static final long MAX_PERCENT = 100;

    public Limits {
        Objects.requireNonNull(cpuMaxQuotaMicros, "cpuMaxQuotaMicros");
        Objects.requireNonNull(cpuMaxPeriodMicros, "cpuMaxPeriodMicros");
        Objects.requireNonNull(memoryMaxBytes, "memoryMaxBytes");
        Objects.requireNonNull(memoryHighBytes, "memoryHighBytes");
        Objects.requireNonNull(memorySwapMaxBytes, "memorySwapMaxBytes");
        Objects.requireNonNull(pidsMax, "pidsMax");
        io = List.copyOf(io);
        Objects.requireNonNull(l3CacheMask, "l3CacheMask");
        Objects.requireNonNull(memoryBandwidthPercent, "memoryBandwidthPercent");
    }

    /** Cgroup limits alone, no Intel RDT setting. */
    public Limits(OptionalLong cpuMaxQuotaMicros, OptionalLong cpuMaxPeriodMicros, OptionalLong memoryMaxBytes,
                  OptionalLong memoryHighBytes, OptionalLong memorySwapMaxBytes, OptionalLong pidsMax, List<IoLimit> io) {
        this(cpuMaxQuotaMicros, cpuMaxPeriodMicros, memoryMaxBytes, memoryHighBytes, memorySwapMaxBytes, pidsMax, io,
                Optional.empty(), Optional.empty());
    }

    /** No limits: the job gets its own cgroup for placement, kill, freeze and accounting only. */
    public static Limits none() {
        return new Limits(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), OptionalLong.empty(), List.of());
    }

    /** cpu.max quota out of the default 100 000 µs period. */
    public Limits withCpuMax(long quotaMicros) {
        return new Limits(OptionalLong.of(quotaMicros), OptionalLong.empty(), memoryMaxBytes, memoryHighBytes,
                memorySwapMaxBytes, pidsMax, io, l3CacheMask, memoryBandwidthPercent);
    }

    public Limits withCpuMax(long quotaMicros, long periodMicros) {
        return new Limits(OptionalLong.of(quotaMicros), OptionalLong.of(periodMicros), memoryMaxBytes,
                memoryHighBytes, memorySwapMaxBytes, pidsMax, io, l3CacheMask, memoryBandwidthPercent);
    }

    public Limits withMemoryMax(long bytes) {
        return new Limits(cpuMaxQuotaMicros, cpuMaxPeriodMicros, OptionalLong.of(bytes), memoryHighBytes,
                memorySwapMaxBytes, pidsMax, io, l3CacheMask, memoryBandwidthPercent);
    }

    /** memory.high: above it the job is throttled and reclaimed hard, never OOM-killed for it. */
    public Limits withMemoryHigh(long bytes) {
        return new Limits(cpuMaxQuotaMicros, cpuMaxPeriodMicros, memoryMaxBytes, OptionalLong.of(bytes),
                memorySwapMaxBytes, pidsMax, io, l3CacheMask, memoryBandwidthPercent);
    }

    /** 0 means the job may not swap at all. */
    public Limits withMemorySwapMax(long bytes) {
        return new Limits(cpuMaxQuotaMicros, cpuMaxPeriodMicros, memoryMaxBytes, memoryHighBytes,
                OptionalLong.of(bytes), pidsMax, io, l3CacheMask, memoryBandwidthPercent);
    }

    public Limits withPidsMax(long pids) {
        return new Limits(cpuMaxQuotaMicros, cpuMaxPeriodMicros, memoryMaxBytes, memoryHighBytes,
                memorySwapMaxBytes, OptionalLong.of(pids), io, l3CacheMask, memoryBandwidthPercent);
    }

    /** Adds one device's io limit. */
    public Limits withIo(IoLimit limit) {
        List<IoLimit> more = new ArrayList<>(io);
        more.add(limit);
        return new Limits(cpuMaxQuotaMicros, cpuMaxPeriodMicros, memoryMaxBytes, memoryHighBytes,
                memorySwapMaxBytes, pidsMax, more, l3CacheMask, memoryBandwidthPercent);
    }

    public boolean isEmpty() {
        return controllerByLimit().isEmpty() && !hasRdt();
    }

    /** An L3 cache mask for every domain or per domain: through resctrl, see {@link io.rund.resctrl.RdtGroups}. */
    public Limits withL3CacheMask(DomainValues masks) {
        return new Limits(cpuMaxQuotaMicros, cpuMaxPeriodMicros, memoryMaxBytes, memoryHighBytes, memorySwapMaxBytes,
                pidsMax, io, Optional.of(masks), memoryBandwidthPercent);
    }

    /** A memory-bandwidth percentage for every domain or per domain: through resctrl (Intel MBA). */
    public Limits withMemoryBandwidthPercent(DomainValues percents) {
        return new Limits(cpuMaxQuotaMicros, cpuMaxPeriodMicros, memoryMaxBytes, memoryHighBytes, memorySwapMaxBytes,
                pidsMax, io, l3CacheMask, Optional.of(percents));
    }

    /** Whether an Intel RDT setting is asked for. */
    public boolean hasRdt() {
        return l3CacheMask.isPresent() || memoryBandwidthPercent.isPresent();
    }

    /** The cgroup v2 controllers these limits need enabled for the job's cgroup. */
    public Set<String> requiredControllers() {
        return Collections.unmodifiableSet(new TreeSet<>(controllerByLimit().values()));
    }

    /** Each limit given (by its CLI name) → the controller enforcing it, in declaration order. */
    SequencedMap<String, String> controllerByLimit() {
        SequencedMap<String, String> needs = new LinkedHashMap<>();
        if (cpuMaxQuotaMicros.isPresent()) {
            needs.put("cpu-max", "cpu");
        }
        if (cpuMaxPeriodMicros.isPresent()) {
            needs.put("cpu-max-period", "cpu");
        }
        if (memoryMaxBytes.isPresent()) {
            needs.put("memory-max", "memory");
        }
        if (memoryHighBytes.isPresent()) {
            needs.put("memory-high", "memory");
        }
        if (memorySwapMaxBytes.isPresent()) {
            needs.put("memory-swap-max", "memory");
        }
        if (pidsMax.isPresent()) {
            needs.put("pids-max", "pids");
        }
        if (!io.isEmpty()) {
            needs.put("io", "io");
        }
        return needs;
    }

    /** Checks every value against the kernel's range; the io devices are resolved later. */
    public void validate() throws InvalidLimitException {
        if (cpuMaxPeriodMicros.isPresent() && cpuMaxQuotaMicros.isEmpty()) {
            throw new InvalidLimitException("cpu-max-period", "given without a cpu-max quota");
        }
        checkRange("cpu-max", cpuMaxQuotaMicros, CPU_QUOTA_FLOOR_MICROS, CPU_QUOTA_MAX_MICROS, " microseconds");
        checkRange("cpu-max-period", cpuMaxPeriodMicros, CPU_PERIOD_MIN_MICROS, CPU_PERIOD_MAX_MICROS, " microseconds");
        if (memoryMaxBytes.isPresent() && memoryMaxBytes.getAsLong() < MEMORY_FLOOR_BYTES) {
            throw new InvalidLimitException("memory-max", memoryMaxBytes.getAsLong()
                    + " is below the floor of 1 MiB (" + MEMORY_FLOOR_BYTES + " bytes)");
        }
        if (memoryHighBytes.isPresent() && memoryHighBytes.getAsLong() < MEMORY_FLOOR_BYTES) {
            throw new InvalidLimitException("memory-high", memoryHighBytes.getAsLong()
                    + " is below the floor of 1 MiB (" + MEMORY_FLOOR_BYTES + " bytes)");
        }
        checkRange("memory-swap-max", memorySwapMaxBytes, 0, Long.MAX_VALUE, " bytes");
        checkRange("pids-max", pidsMax, 1, PIDS_MAX_LIMIT, "");
        for (IoLimit limit : io) {
            limit.validate();
        }
        if (l3CacheMask.isPresent() && l3CacheMask.get().values().contains(0L)) {
            throw new InvalidLimitException("l3-cache-mask", "an empty mask (0) gives the job no cache; give at least one bit");
        }
        for (long percent : memoryBandwidthPercent.map(DomainValues::values).orElse(List.of())) {
            if (percent < 1 || percent > MAX_PERCENT) {
                throw new InvalidLimitException("memory-bandwidth", percent + " is not a percentage from 1 to " + MAX_PERCENT);
            }
        }
    }

    private static void checkRange(String field, OptionalLong value, long floor, long max, String unit)
            throws InvalidLimitException {
        if (value.isEmpty()) {
            return;
        }
        long given = value.getAsLong();
        if (given < floor) {
            throw new InvalidLimitException(field, given + " is below the floor of " + floor + unit);
        }
        if (given > max) {
            throw new InvalidLimitException(field, given + " is above the maximum of " + max + unit);
        }
    }
}
