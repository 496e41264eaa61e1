package io.rund.logs;

import io.rund.linux.PositionalFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What all job logs of one daemon share: the caps of {@link LogSettings}, the count of file bytes they keep in all
 * and per owner identity (and, past the global cap, the choice of the oldest segment anywhere to drop; past an
 * owner's quota, of that owner's own oldest segment, so that one tenant cannot fill the disk for the others), the
 * read cache that lets followers
 * share reads, the follower counts per client identity, and the writer slots: how many logs being written may
 * keep their file open between appends. Logs are created here and leave it when closed. The files earlier runs left
 * in the logs directory count against the global cap too, and are the first deleted when it needs room.
 */
public final class LogSpace {

    /**
     * Writers of running jobs that may keep their log file open from their first append to their seal. The
     * writers beyond open and close their file per append, so open log writers cost at most this many
     * descriptors however many jobs run: a job's own count stays at its pidfd and its two pipes.
     */
    public static final int WRITER_SLOTS = 1024;

    private static final Logger LOG = LoggerFactory.getLogger(LogSpace.class);

    /** A file of an earlier run, counted by the storage it takes. */
    private record EarlierFile(Path path, long bytes, FileTime modified) {}

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
    /** File bytes kept by the open logs of each owner identity (logs created without an owner are not counted). */
    private final ConcurrentHashMap<String, AtomicLong> retainedByIdentity = new ConcurrentHashMap<>();
    private final Object reclaimLock = new Object();
    /** Files an earlier daemon left in the logs directory, oldest first; guarded by reclaimLock. */
    private final ArrayDeque<EarlierFile> earlierFiles = new ArrayDeque<>();
    /**
     * Files an earlier daemon left that are the logs of jobs this daemon knows again from their records: counted,
     * never deleted to make room (a job's log goes with its record), until their log is opened; guarded by reclaimLock.
     */
    private final Map<Path, EarlierFile> jobFiles = new HashMap<>();
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
        return createLog(file, null);
    }

    /**
     * As {@link #createLog(Path)}, for a job owned by {@code ownerIdentity} (see {@link #identityOf}): the log also
     * counts against that owner's quota, rund.logs.max-identity-bytes. Null: no owner, no quota.
     */
    public LogStore createLog(Path file, String ownerIdentity) throws IOException {
        LogStore log = LogStore.open(file, this, ownerIdentity);
        logs.add(log);
        return log;
    }

    /**
     * Counts every regular file in {@code directory} (the logs of earlier runs of the daemon: none is open yet) against
     * rund.logs.max-total-bytes by the storage it takes, and deletes the oldest (by modification time) while they
     * pass it. From then on they are the first to go when the cap needs room, before any segment of this run, since
     * they are older than anything this run writes. Returns the bytes counted after that. Call it once, at start,
     * before any log is created.
     */
    public long countEarlierFiles(Path directory) throws IOException {
        return countEarlierFiles(directory, Set.of());
    }

    /**
     * As {@link #countEarlierFiles(Path)}, but the files of {@code jobLogs} (the logs of jobs whose records were
     * restored: finished, or adopted still running) are claimed for those jobs: counted, and never deleted to make
     * room while the job's record lives; their log takes them over when it opens ({@link #openFinishedLog},
     * {@link #reopenLog}), or {@link #claimEarlierFile} uncounts them when the job is removed unopened.
     */
    public long countEarlierFiles(Path directory, Set<Path> jobLogs) throws IOException {
        List<EarlierFile> found = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            for (Path file : files) {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (attributes.isRegularFile()) {
                    found.add(new EarlierFile(file, PositionalFiles.allocatedBytes(file), attributes.lastModifiedTime()));
                }
            }
        }
        found.sort(Comparator.comparing(EarlierFile::modified).thenComparing(EarlierFile::path));
        long bytes = 0;
        synchronized (reclaimLock) {
            for (EarlierFile file : found) {
                if (jobLogs.contains(file.path())) {
                    jobFiles.put(file.path(), file);
                } else {
                    earlierFiles.addLast(file);
                }
                bytes += file.bytes();
            }
        }
        retainedBytes.addAndGet(bytes);
        if (retainedBytes.get() > settings.maxTotalBytes()) {
            reclaim(null, settings.maxTotalBytes());
        }
        return earlierBytes();
    }

    /** File bytes the logs of restored jobs take while not yet opened (counted, never deleted to make room). */
    public long jobFileBytes() {
        synchronized (reclaimLock) {
            return jobFiles.values().stream().mapToLong(EarlierFile::bytes).sum();
        }
    }

    /** File bytes the files of earlier runs still counted take. */
    public long earlierBytes() {
        synchronized (reclaimLock) {
            return earlierFiles.stream().mapToLong(EarlierFile::bytes).sum();
        }
    }

    /**
     * {@code file}, counted by {@link #countEarlierFiles}, is claimed by a log of this run (reopened for a job an
     * earlier run left), or was deleted with its job: it counts no more as an earlier file, and is never deleted as
     * one. False if it was not counted.
     */
    public boolean claimEarlierFile(Path file) {
        synchronized (reclaimLock) {
            EarlierFile ofJob = jobFiles.remove(file);
            if (ofJob != null) {
                retainedBytes.addAndGet(-ofJob.bytes());
                return true;
            }
            for (Iterator<EarlierFile> files = earlierFiles.iterator(); files.hasNext(); ) {
                EarlierFile earlier = files.next();
                if (earlier.path().equals(file)) {
                    files.remove();
                    retainedBytes.addAndGet(-earlier.bytes());
                    return true;
                }
            }
        }
        return false;
    }

    /** Deletes the oldest file of an earlier run, if one is left; guarded by reclaimLock. */
    private boolean dropOldestEarlierFile() {
        EarlierFile oldest = earlierFiles.pollFirst();
        if (oldest == null) {
            return false;
        }
        try {
            Files.deleteIfExists(oldest.path());
            LOG.info("Deleted {} ({} bytes), a log of an earlier run, to keep rund.logs.max-total-bytes = {}",
                    oldest.path(), oldest.bytes(), settings.maxTotalBytes());
        } catch (IOException e) {
            LOG.warn("Cannot delete {}, a log of an earlier run, to make room under rund.logs.max-total-bytes: {}; "
                    + "it is no longer counted", oldest.path(), e.getMessage());
        }
        retainedBytes.addAndGet(-oldest.bytes());
        return true;
    }

    /**
     * Reopens the log an earlier run of rund left at {@code file} for a job that may still be writing (its pipes
     * adopted): a torn last record is repaired and its {@link LogStore#writer() writer} continues the offsets. A
     * log found sealed is returned sealed, with no writer. Counted against the caps like a new log.
     */
    public LogStore reopenLog(Path file, String ownerIdentity) throws IOException {
        claimEarlierFile(file); // counted below as this run's log, not as an earlier run's file
        LogStore log = LogStore.reopen(file, this, ownerIdentity, false);
        logs.add(log);
        return log;
    }

    /**
     * Opens the log an earlier run of rund left at {@code file} for a job that has finished: read-only, with no
     * writer. A log that was not sealed (rund stopped before the job's output ended) has its torn last record
     * repaired and is sealed now, so its followers end.
     */
    public LogStore openFinishedLog(Path file, String ownerIdentity) throws IOException {
        claimEarlierFile(file); // counted below as this run's log, not as an earlier run's file
        LogStore log = LogStore.reopen(file, this, ownerIdentity, true);
        logs.add(log);
        return log;
    }

    /**
     * One client identity as the follower caps and the log quotas count it: the SAN set of its certificate, in one
     * canonical form (sorted, comma-separated), so that two certificates with the same SANs are one identity.
     */
    public static String identityOf(Set<String> sans) {
        return String.join(",", new TreeSet<>(sans));
    }

    /** File bytes all open logs keep now (record headers included). */
    public long retainedBytes() {
        return retainedBytes.get();
    }

    /** File bytes the open logs of jobs owned by {@code identity} keep now. */
    public long retainedBytesOf(String identity) {
        AtomicLong bytes = retainedByIdentity.get(identity);
        return bytes == null ? 0 : bytes.get();
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

    /**
     * {@code log} wrote {@code bytes} more file bytes. Past its owner's quota, that owner's oldest segments are
     * dropped; past the global cap, the oldest segments anywhere. Called outside the log's writer lock.
     */
    void grew(LogStore log, long bytes) {
        String owner = log.owner();
        if (owner != null && counterOf(owner).addAndGet(bytes) > settings.maxIdentityBytes()) {
            reclaim(owner, settings.maxIdentityBytes());
        }
        if (retainedBytes.addAndGet(bytes) > settings.maxTotalBytes()) {
            reclaim(null, settings.maxTotalBytes());
        }
    }

    /** {@code log} dropped {@code bytes} file bytes. */
    void released(LogStore log, long bytes) {
        retainedBytes.addAndGet(-bytes);
        String owner = log.owner();
        if (owner != null) {
            counterOf(owner).addAndGet(-bytes);
        }
    }

    /** A log closed: it leaves the space, and its bytes no longer count. */
    void closed(LogStore log, long bytesKept) {
        if (logs.remove(log)) {
            released(log, bytesKept);
        }
    }

    private AtomicLong counterOf(String owner) {
        return retainedByIdentity.computeIfAbsent(owner, who -> new AtomicLong());
    }

    /**
     * Drops the oldest droppable segment among the logs of {@code owner} (null: of all logs) until they keep at
     * most {@code cap} bytes, or only segments being written are left.
     */
    private void reclaim(String owner, long cap) {
        AtomicLong kept = owner == null ? retainedBytes : counterOf(owner);
        synchronized (reclaimLock) {
            while (kept.get() > cap) {
                if (owner == null && dropOldestEarlierFile()) {
                    continue; // an earlier run's file is older than any segment of this run
                }
                LogStore victim = null;
                long oldest = Long.MAX_VALUE;
                for (LogStore log : logs) {
                    if (owner != null && !owner.equals(log.owner())) {
                        continue;
                    }
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

    /** Concurrent followers of all logs now (the metrics' rund_log_followers). */
    public int followers() {
        return followersByIdentity.values().stream().mapToInt(Integer::intValue).sum();
    }
}
