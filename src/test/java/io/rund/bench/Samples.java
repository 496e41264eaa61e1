package io.rund.bench;

import java.util.Arrays;

/** Latencies of one run, in nanoseconds, and their percentiles (nearest rank). */
final class Samples {

    private final long[] nanos;
    private int count;

    Samples(int capacity) {
        nanos = new long[capacity];
    }

    void add(long value) {
        nanos[count++] = value;
    }

    int count() {
        return count;
    }

    /** The {@code q}-quantile (0 < q <= 1) by nearest rank. */
    long percentile(double q) {
        if (count == 0) {
            throw new IllegalStateException("no samples");
        }
        long[] sorted = Arrays.copyOf(nanos, count);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(q * count);
        return sorted[Math.max(0, Math.min(count - 1, rank - 1))];
    }

    double p50Micros() {
        return percentile(0.50) / 1_000.0;
    }

    double p99Micros() {
        return percentile(0.99) / 1_000.0;
    }
}
