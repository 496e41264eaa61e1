package io.rund.logs;

/**
 * Maps logical offsets to file positions and timestamps for a sample of records: one entry whenever the file
 * has grown by at least {@code strideBytes} since the last entry, and one at every segment start, so memory
 * grows with the retained log's size in bytes (24 bytes per stride), never with its record count, and a lookup
 * leaves at most one stride plus one record to scan. Entries of dropped segments are dropped with them.
 * <p>
 * One writer thread adds and drops entries; any number of readers look up concurrently without locks. Each
 * change publishes a new immutable {@link View} (sharing the array, whose slots past the view are written
 * before the view is published), so a reader always sees a consistent set of entries.
 */
final class SparseIndex {

    /** A record's logical offset, the file position of its header, and its timestamp. */
    record Entry(long offset, long position, long timestampNanos) {}

    private static final int INITIAL_ENTRIES = 16;
    private static final int LONGS_PER_ENTRY = 3;
    /** Compact once this share (1/n) of the array or more holds dropped entries. */
    private static final int COMPACT_WHEN_DROPPED_SHARE = 2;

    /** Entries [start, start + count) of {@code data}, triples of offset, position, timestamp. */
    private record View(long[] data, int start, int count) {

        long offset(int i) {
            return data[(start + i) * LONGS_PER_ENTRY];
        }

        long timestamp(int i) {
            return data[(start + i) * LONGS_PER_ENTRY + 2];
        }

        Entry entry(int i) {
            int at = (start + i) * LONGS_PER_ENTRY;
            return new Entry(data[at], data[at + 1], data[at + 2]);
        }

        /** Index of the last entry with offset <= {@code offset}, or -1. */
        int floorIndex(long offset) {
            int low = 0;
            int high = count - 1;
            int found = -1;
            while (low <= high) {
                int mid = (low + high) >>> 1;
                if (offset(mid) <= offset) {
                    found = mid;
                    low = mid + 1;
                } else {
                    high = mid - 1;
                }
            }
            return found;
        }
    }

    private final long strideBytes;
    private volatile View view = new View(new long[INITIAL_ENTRIES * LONGS_PER_ENTRY], 0, 0);
    private long lastIndexedPosition;

    SparseIndex(long strideBytes) {
        if (strideBytes <= 0) {
            throw new IllegalArgumentException("index stride must be > 0, was " + strideBytes);
        }
        this.strideBytes = strideBytes;
    }

    /**
     * Writer only: a record with this offset and timestamp now starts at this file position (called in file
     * order). {@code force} indexes it whatever the stride says (segment starts).
     */
    void recordWritten(long offset, long position, long timestampNanos, boolean force) {
        View v = view;
        if (!force && v.count > 0 && position - lastIndexedPosition < strideBytes) {
            return;
        }
        long[] data = v.data;
        int start = v.start;
        if ((start + v.count + 1) * LONGS_PER_ENTRY > data.length) {
            int capacity = Math.max(INITIAL_ENTRIES, (v.count + 1) * 2);
            long[] grown = new long[capacity * LONGS_PER_ENTRY];
            System.arraycopy(data, start * LONGS_PER_ENTRY, grown, 0, v.count * LONGS_PER_ENTRY);
            data = grown;
            start = 0;
        }
        int at = (start + v.count) * LONGS_PER_ENTRY;
        data[at] = offset;
        data[at + 1] = position;
        data[at + 2] = timestampNanos;
        lastIndexedPosition = position;
        view = new View(data, start, v.count + 1);
    }

    /** Writer only: forgets every entry below {@code offset} (its records were dropped). */
    void dropBefore(long offset) {
        View v = view;
        int keepFrom = 0;
        while (keepFrom < v.count && v.offset(keepFrom) < offset) {
            keepFrom++;
        }
        if (keepFrom == 0) {
            return;
        }
        int start = v.start + keepFrom;
        int count = v.count - keepFrom;
        long[] data = v.data;
        if (start * LONGS_PER_ENTRY * COMPACT_WHEN_DROPPED_SHARE >= data.length) {
            long[] compact = new long[Math.max(INITIAL_ENTRIES, count * 2) * LONGS_PER_ENTRY];
            System.arraycopy(data, start * LONGS_PER_ENTRY, compact, 0, count * LONGS_PER_ENTRY);
            data = compact;
            start = 0;
        }
        view = new View(data, start, count);
    }

    /** The last indexed record starting at or before {@code offset}. */
    Entry floor(long offset) {
        View v = view;
        int found = v.floorIndex(offset);
        if (found < 0) {
            throw new IllegalArgumentException("no indexed record at or before offset " + offset
                    + " (" + v.count + " entries)");
        }
        return v.entry(found);
    }

    /** The offset of the first indexed record after {@code offset}, or {@link Long#MAX_VALUE} if none. */
    long nextOffsetAfter(long offset) {
        View v = view;
        int next = v.floorIndex(offset) + 1;
        return next < v.count ? v.offset(next) : Long.MAX_VALUE;
    }

    /**
     * The last indexed record whose timestamp is before {@code timestampNanos} (timestamps never decrease along
     * the log), or the first entry if there is none.
     */
    Entry lastBefore(long timestampNanos) {
        View v = view;
        if (v.count == 0) {
            throw new IllegalStateException("the index is empty");
        }
        int low = 0;
        int high = v.count - 1;
        int found = 0;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (v.timestamp(mid) < timestampNanos) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return v.entry(found);
    }

    int entryCount() {
        return view.count;
    }
}
