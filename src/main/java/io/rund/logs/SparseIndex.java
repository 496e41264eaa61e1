package io.rund.logs;

import java.util.Arrays;

/**
 * Maps logical offsets to file positions for a sample of records: one entry whenever the file has grown by at
 * least {@code strideBytes} since the last entry, so memory grows with the log's size in bytes (16 bytes per
 * stride), never with its record count, and a lookup leaves at most one stride plus one record to scan.
 * <p>
 * One writer thread adds entries; any number of readers look up concurrently without locks. The writer fills
 * an entry (growing the array first if needed) and only then bumps the volatile {@code count}; a reader reads
 * {@code count} before {@code pairs}, so every entry below the count it saw is present in the array it gets.
 */
final class SparseIndex {

    /** A record's logical offset and the file position of its header. */
    record Entry(long offset, long position) {}

    private static final int INITIAL_ENTRIES = 16;
    private static final int LONGS_PER_ENTRY = 2;

    private final long strideBytes;
    private volatile long[] pairs = new long[INITIAL_ENTRIES * LONGS_PER_ENTRY];
    private volatile int count;
    private long lastIndexedPosition;

    SparseIndex(long strideBytes) {
        if (strideBytes <= 0) {
            throw new IllegalArgumentException("index stride must be > 0, was " + strideBytes);
        }
        this.strideBytes = strideBytes;
    }

    /** Writer only: a record with this offset now starts at this file position (called in file order). */
    void recordWritten(long offset, long position) {
        int n = count;
        if (n > 0 && position - lastIndexedPosition < strideBytes) {
            return;
        }
        long[] p = pairs;
        if (n * LONGS_PER_ENTRY == p.length) {
            p = Arrays.copyOf(p, p.length * 2);
            pairs = p;
        }
        p[n * LONGS_PER_ENTRY] = offset;
        p[n * LONGS_PER_ENTRY + 1] = position;
        lastIndexedPosition = position;
        count = n + 1;
    }

    /** The last indexed record starting at or before {@code offset}. */
    Entry floor(long offset) {
        int n = count;
        long[] p = pairs;
        int low = 0;
        int high = n - 1;
        int found = -1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (p[mid * LONGS_PER_ENTRY] <= offset) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        if (found < 0) {
            throw new IllegalArgumentException("no indexed record at or before offset " + offset
                    + " (" + n + " entries)");
        }
        return new Entry(p[found * LONGS_PER_ENTRY], p[found * LONGS_PER_ENTRY + 1]);
    }

    int entryCount() {
        return count;
    }
}
