package io.rund.cgroup;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One device's line in {@code io.max}: byte and operation rates for reads and writes. The device
 * is a path (a block device node, or any file whose backing disk is meant) or "MAJ:MIN"; absent
 * means the block device backing the job's working directory. A rate not given is not limited.
 */
public record IoLimit(Optional<String> device, OptionalLong rbps, OptionalLong wbps,
                      OptionalLong riops, OptionalLong wiops) {

    /**
     * Smallest rate written. The kernel's io.max parser refused 1 ("val > 1") on kernels up to
     * 6.x, Debian 12's 6.1 among them; 1 byte or operation per second is never meant anyway.
     */
    public static final long RATE_FLOOR = 2;
    /** The kernel keeps iops in an unsigned int and silently clamps larger values. */
    public static final long IOPS_MAX = 0xFFFF_FFFFL;

    public IoLimit {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(rbps, "rbps");
        Objects.requireNonNull(wbps, "wbps");
        Objects.requireNonNull(riops, "riops");
        Objects.requireNonNull(wiops, "wiops");
    }

    /** No rates yet, on the given device (path or "MAJ:MIN"). */
    public static IoLimit onDevice(String device) {
        return new IoLimit(Optional.of(device), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), OptionalLong.empty());
    }

    /** No rates yet, on the block device backing the job's working directory. */
    public static IoLimit onWorkingDirectoryDevice() {
        return new IoLimit(Optional.empty(), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), OptionalLong.empty());
    }

    public IoLimit withRbps(long bytesPerSecond) {
        return new IoLimit(device, OptionalLong.of(bytesPerSecond), wbps, riops, wiops);
    }

    public IoLimit withWbps(long bytesPerSecond) {
        return new IoLimit(device, rbps, OptionalLong.of(bytesPerSecond), riops, wiops);
    }

    public IoLimit withRiops(long operationsPerSecond) {
        return new IoLimit(device, rbps, wbps, OptionalLong.of(operationsPerSecond), wiops);
    }

    public IoLimit withWiops(long operationsPerSecond) {
        return new IoLimit(device, rbps, wbps, riops, OptionalLong.of(operationsPerSecond));
    }

    /** Checks the values alone; the device is resolved by {@link BlockDevices}. */
    public void validate() throws InvalidLimitException {
        if (device.isPresent() && device.get().isBlank()) {
            throw new InvalidLimitException("io", "the device is blank; name a path or MAJ:MIN, or leave it out");
        }
        if (rbps.isEmpty() && wbps.isEmpty() && riops.isEmpty() && wiops.isEmpty()) {
            throw new InvalidLimitException("io", "no rbps, wbps, riops or wiops given for "
                    + device.orElse("the working directory's device"));
        }
        checkRate("io-rbps", rbps, Long.MAX_VALUE);
        checkRate("io-wbps", wbps, Long.MAX_VALUE);
        checkRate("io-riops", riops, IOPS_MAX);
        checkRate("io-wiops", wiops, IOPS_MAX);
    }

    private static void checkRate(String field, OptionalLong rate, long max) throws InvalidLimitException {
        if (rate.isEmpty()) {
            return;
        }
        long value = rate.getAsLong();
        if (value < RATE_FLOOR) {
            throw new InvalidLimitException(field, value + " is below the floor of " + RATE_FLOOR);
        }
        if (value > max) {
            throw new InvalidLimitException(field, value + " is above the kernel's maximum of " + max);
        }
    }
}
