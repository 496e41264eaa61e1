package io.rund.logs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What all job logs of one daemon share: the caps of {@link LogSettings}, the count of file bytes they keep (and,
 * past the global cap, the choice of the oldest segment anywhere to drop), the read cache that lets followers
 * share reads, the follower counts per client identity, and the writer slots: how many logs being written may
 * keep their file open between appends. Logs are created here and leave it when closed.
 */
public final class LogSpace {

    /**
     * Writers of running jobs that may keep their log file open from their first append to their seal. The
     * writers beyond open and close their file per append, so open log writers cost at most this many
     * descriptors however many jobs run: a job's own count stays at its pidfd and its two pipes.
     */
    public static final int WRITER_SLOTS = 1024;

    /** One admitted follower: counted against its job and its identity until {@link #release()} (idempotent). */
    static final class FollowerLease {
        private final LogSpace space;
        private final LogStore log;
        private final String identity;
        private final AtomicBoolean released = new AtomicBoolean();

        private FollowerLease(LogSpace space, LogStore log, String identity) {
            this.space = space;
            this.log = log;
            this.identity = identity;
        }

        void release() {
            if (released.compareAndSet(false, true)) {
                log.followerLeft();
                if (identity != null) {
                    space.followersByIdentity.computeIfPresent(identity, (who, n) -> n <= 1 ? null : n - 1);
                }
            }
        }
    }

    private final LogSettings settings;
    private final LogReadCache cache;
    private final Set<LogStore> logs = ConcurrentHashMap.newKeySet();
    private final AtomicLong retainedBytes = new AtomicLong();
    private final ConcurrentHashMap<String, Integer> followersByIdentity = new ConcurrentHashMap<>();
    private final Object reclaimLock = new Object();
    private final int writerSlots;
    private final AtomicInteger writerSlotsTaken = new AtomicInteger();

    private LogSpace(LogSettings settings, int writerSlots) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.cache = new LogReadCache(settings.readCacheBytes());
        this.writerSlots = writerSlots;
    }

    public static LogSpace create(LogSettings settings) {
        return new LogSpace(settings, WRITER_SLOTS);
    }

    /** A space whose writers may keep at most {@code writerSlots} files open between appends. */
    static LogSpace create(LogSettings settings, int writerSlots) {
        return new LogSpace(settings, writerSlots);
    }

    public LogSettings settings() {
        return settings;
    }

    /**
     * Creates a new, empty log at {@code file} with permissions rw------- (0600), kept within this space's caps.
     * The parent directory must exist and the file must not.
     */
    public LogStore createLog(Path file) throws IOException {
        LogStore log = LogStore.open(file, this);
        logs.add(log);
        return log;
    }

    /** File bytes all open logs keep now (record headers included). */
    public long retainedBytes() {
        return retainedBytes.get();
    }

    /** Concurrent followers opened by {@code identity} now. */
    public int followersOf(String identity) {
        return followersByIdentity.getOrDefault(identity, 0);
    }

    LogReadCache cache() {
        return cache;
    }

    /** Writer slots in use: logs being written that keep their file open between appends. */
    int writerSlotsTaken() {
        return writerSlotsTaken.get();
    }

    /** Takes a writer slot if one is free. */
    boolean takeWriterSlot() {
        while (true) {
            int taken = writerSlotsTaken.get();
            if (taken >= writerSlots) {
                return false;
            }
            if (writerSlotsTaken.compareAndSet(taken, taken + 1)) {
                return true;
            }
        }
    }

    /** Gives back a slot {@link #takeWriterSlot() taken} before. */
    void returnWriterSlot() {
        writerSlotsTaken.decrementAndGet();
    }

    /**
     * Admits one more follower of {@code log} for {@code identity} (null: an internal reader, never capped), or
     * says which cap refuses it.
     */
    FollowerLease admit(LogStore log, String identity) throws FollowerLimitException {
        if (identity == null) {
            log.followerJoined(Integer.MAX_VALUE);
            return new FollowerLease(this, log, null);
        }
        if (!log.followerJoined(settings.maxFollowersPerJob())) {
            throw new FollowerLimitException("this job's log already has " + settings.maxFollowersPerJob()
                    + " followers, the configured maximum (rund.logs.max-followers-per-job)");
        }
        boolean[] admitted = {false};
        followersByIdentity.compute(identity, (who, n) -> {
            int current = n == null ? 0 : n;
            if (current >= settings.maxFollowersPerIdentity()) {
                return n;
            }
            admitted[0] = true;
            return current + 1;
        });
        if (!admitted[0]) {
            log.followerLeft();
            throw new FollowerLimitException("this client already follows " + settings.maxFollowersPerIdentity()
                    + " logs, the configured maximum per identity (rund.logs.max-followers-per-identity)");
        }
        return new FollowerLease(this, log, identity);
    }

    /** A log wrote {@code bytes} more file bytes; past the global cap the oldest segments anywhere are dropped. */
    void grew(long bytes) {
        if (retainedBytes.addAndGet(bytes) > settings.maxTotalBytes()) {
            reclaim();
        }
    }

    /** A log dropped {@code bytes} file bytes. */
    void released(long bytes) {
        retainedBytes.addAndGet(-bytes);
    }

    /** A log closed: it leaves the space, and its bytes no longer count. */
    void closed(LogStore log, long bytesKept) {
        if (logs.remove(log)) {
            released(bytesKept);
        }
    }

    private void reclaim() {
        synchronized (reclaimLock) {
            while (retainedBytes.get() > settings.maxTotalBytes()) {
                LogStore victim = null;
                long oldest = Long.MAX_VALUE;
                for (LogStore log : logs) {
                    long since = log.oldestDroppableSegmentNanos();
                    if (since < oldest) {
                        oldest = since;
                        victim = log;
                    }
                }
                if (victim == null || !victim.dropOldestSegment()) {
                    return; // only segments being written are left: they cannot be dropped
                }
            }
        }
    }
}
