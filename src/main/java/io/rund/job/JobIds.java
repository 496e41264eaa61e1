package io.rund.job;

import com.github.f4b6a3.ulid.Ulid;
import com.github.f4b6a3.ulid.UlidCreator;

/**
 * Job ids: monotonic ULIDs (26 characters, ordered by creation time) whose 16 bits right after the 48-bit timestamp
 * hold the index of the node that minted them, so that any node of a cluster finds a job's host from its id alone,
 * with no state to lose. Index 0 (standalone, and every id minted before cluster mode) leaves the id fully random.
 */
public final class JobIds {

    private static final int INDEX_BITS = 16;
    private static final int INDEX_SHIFT = Long.SIZE - Ulid.TIME_BYTES * Byte.SIZE - INDEX_BITS; // within the msb
    private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;

    private JobIds() {}

    /** A new id for a job of the node with index {@code nodeIndex} (0: no node index). */
    public static String mint(int nodeIndex) {
        Ulid ulid = UlidCreator.getMonotonicUlid();
        if (nodeIndex == 0) {
            return ulid.toString();
        }
        long msb = (ulid.getMostSignificantBits() & ~(INDEX_MASK << INDEX_SHIFT)) | ((nodeIndex & INDEX_MASK) << INDEX_SHIFT);
        return new Ulid(msb, ulid.getLeastSignificantBits()).toString();
    }

    /** The node index an id (a valid ULID) carries; 0 or any value for ids minted without one. */
    public static int nodeIndex(String jobId) {
        return (int) ((Ulid.from(jobId).getMostSignificantBits() >>> INDEX_SHIFT) & INDEX_MASK);
    }
}
