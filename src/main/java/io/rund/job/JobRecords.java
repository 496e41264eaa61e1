package io.rund.job;

import io.rund.linux.FileSystemSync;
import io.rund.linux.LinuxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.regex.Pattern;

/**
 * The durable records of jobs: one file per job, {@code <state-directory>/jobs/<ULID>} ({@link JobRecordCodec}),
 * from the moment before the job is spawned until the job is removed. Owns the one writer thread that keeps them.
 * <p>
 * Write ordering and what survives what:
 * <ul>
 *   <li>{@link #created} writes a new file on the caller's (launching) thread before the job is spawned, not forced
 *       to disk: a job never runs without a record, and a Start pays one small file creation, no flush.</li>
 *   <li>{@link #started}, {@link #ended} and {@link #delete} only queue; the writer thread applies them in order,
 *       each update as a temporary file renamed over the record (a reader sees the old record or the new one,
 *       never a mix). No actor ever waits on the disk, and a job's status is published without waiting either.</li>
 *   <li>Final records ({@link #ended}) are forced to disk as a group commit: the writer writes every update it has
 *       taken (up to {@link RecordSettings#maxBatch()}) to temporary files, forces the file system once (syncfs),
 *       renames them all, and forces it once more: two flushes per batch however many jobs ended. A final record is
 *       durable within one such round after the job's end. syncfs also flushes whatever else was written to that
 *       file system (the logs): the price of one flush for many files.</li>
 * </ul>
 * A kill -9 or a crash of the daemon loses no record that was written (the page cache belongs to the kernel); it
 * loses only updates still queued in that instant (the writer takes each as it comes), and then the job's previous
 * record stands. A power loss (which kills the jobs as well) keeps every final record forced before it; a start or
 * running record written since the last flush may be missing or torn, which the checksum detects: such a file is
 * reported in one line and skipped. Nothing here ever throws at the caller for a failed write: it is logged,
 * naming the file, and the job goes on.
 */
public final class JobRecords implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(JobRecords.class);
    private static final Pattern RECORD_NAME = Pattern.compile("[0-9A-HJKMNP-TV-Z]{26}");
    private static final String TEMPORARY_SUFFIX = ".tmp";
    /** Threads reading record files at start-up. */
    private static final int LOAD_THREADS = 4;
    /** What {@link #readRecord} returns for a file removed while the directory was read. */
    private static final Object GONE = new Object();
    /** How long {@link #close()} waits for the writer to apply what is queued. */
    private static final long CLOSE_WAIT_SECONDS = 10;

    /** One queued change to a record; the writer applies them in order. */
    private sealed interface Change {}

    /** {@code written} completes once the update was applied (or failed, and said so in the log). */
    /** {@code stopKillAt}: set while a Stop is in progress (see {@link JobRecord#stopKillAt()}). */
    private record Update(JobStatus status, Instant stopKillAt, CompletableFuture<Void> written) implements Change {}

    private record Delete(String jobId) implements Change {}

    private record Close() implements Change {}

    /** What {@link #load()} found: the records it could read, and one line for each file it could not. */
    public record Loaded(List<JobRecord> records, List<String> problems) {}

    /**
     * What {@link #restore} found: jobs that have ended (all final), and jobs that still run, held by the keeper, for
     * the daemon to adopt (their records as the previous daemon left them: starting or running).
     */
    public record Restored(List<JobRecord> ended, List<JobRecord> running) {}

    private final Path directory;
    private final RecordSettings settings;
    /** The encoded spec fields of jobs not yet ended, so that an update re-encodes only the status. */
    private final Map<String, byte[]> specFields = new ConcurrentHashMap<>();
    /** Directories of job logs, and whether each is on the records' file system ({@link #forcesAtEnd}). */
    private final Map<Path, Boolean> sameFileSystem = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Change> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean closed;

    private JobRecords(Path directory, RecordSettings settings) {
        this.directory = directory;
        this.settings = settings;
        this.writer = Thread.ofPlatform().name("rund-job-records").daemon().unstarted(this::writeLoop);
    }

    /** The records in {@code stateDirectory}/jobs (made by {@link StateDirectory#prepare}), and their writer. */
    public static JobRecords open(Path stateDirectory, RecordSettings settings) {
        JobRecords records = new JobRecords(StateDirectory.jobsOf(stateDirectory), settings);
        records.writer.start();
        return records;
    }

    /**
     * Whether a job's final record forces {@code file}'s file system to disk (sync-final on, and the file on the same
     * file system as the records): its writer then need not force it itself when the job ends. Asked once per
     * launch; one stat of the file's directory, remembered per directory.
     */
    boolean forcesAtEnd(Path file) {
        if (!settings.syncFinal()) {
            return false;
        }
        Path parent = file.toAbsolutePath().getParent();
        return sameFileSystem.computeIfAbsent(parent, this::onRecordsFileSystem);
    }

    private boolean onRecordsFileSystem(Path directoryOfFile) {
        try {
            return Files.getAttribute(directoryOfFile, "unix:dev").equals(Files.getAttribute(directory, "unix:dev"));
        } catch (IOException | UnsupportedOperationException e) {
            return false; // unknown: the log forces itself, as it would without group commits
        }
    }

    /** The file of job {@code jobId}'s record. */
    public Path fileOf(String jobId) {
        return directory.resolve(jobId);
    }

    /**
     * Job {@code initial.id()} is about to be spawned: its record is written now, on the calling thread (not forced
     * to disk). A failure is returned to the caller: the job must then not run.
     */
    void created(JobSpec spec, Set<String> owner, JobStatus initial) throws IOException {
        byte[] fields = JobRecordCodec.specFields(spec, owner, spec.labels(), initial.id());
        specFields.put(initial.id(), fields);
        try (FileChannel file = FileChannel.open(fileOf(initial.id()), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writeFully(file, JobRecordCodec.encode(fields, initial));
        } catch (IOException e) {
            specFields.remove(initial.id());
            Files.deleteIfExists(fileOf(initial.id()));
            throw e;
        }
    }

    /** Job {@code jobId} never ran (its start failed): its record goes at once, on the calling thread. */
    void startFailed(String jobId) {
        specFields.remove(jobId);
        try {
            Files.deleteIfExists(fileOf(jobId));
        } catch (IOException e) {
            LOG.warn("Cannot delete the record {} of a job that failed to start: {}", fileOf(jobId), e.getMessage());
        }
    }

    /** The job runs now (pid, uid, start time): queued for the writer. */
    void started(JobStatus status) {
        enqueue(new Update(status, null, new CompletableFuture<>()));
    }

    /**
     * A Stop is in progress: SIGTERM was sent and the job is killed at {@code killAt} unless it ends first. Queued for
     * the writer; completes once written, so that a daemon that dies now leaves the stop to the next one.
     */
    CompletableFuture<Void> stopping(JobStatus status, Instant killAt) {
        Update update = new Update(status, killAt, new CompletableFuture<>());
        enqueue(update);
        return update.written();
    }

    /**
     * The job's final status: queued for the writer, which forces it to disk with the batch it comes in. Completes
     * once it is written (and forced, with sync-final): only then may the keeper forget the job's exit.
     */
    CompletableFuture<Void> ended(JobStatus status) {
        Update update = new Update(status, null, new CompletableFuture<>());
        enqueue(update);
        return update.written();
    }

    /**
     * The arguments job {@code jobId} was started with, read from its record (blocking: call it on the job dispatcher);
     * empty if the record is gone (the job was removed meanwhile). What a finished job keeps only on disk
     * ({@code rund.jobs.finished-args-in-memory}) is read back here when a reply shows it.
     */
    Optional<List<String>> argsOf(String jobId) throws IOException {
        try {
            return Optional.of(JobRecordCodec.decode(Files.readAllBytes(fileOf(jobId))).spec().args());
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        } catch (JobRecordCodec.CorruptRecordException e) {
            throw new IOException("job record " + fileOf(jobId) + " " + e.getMessage(), e);
        }
    }

    /** The job is removed (retention, Delete, a budget): its record is deleted after any update queued before. */
    public void delete(String jobId) {
        enqueue(new Delete(jobId));
    }

    private void enqueue(Change change) {
        if (closed) {
            LOG.warn("Job records are closed; dropping {}", change);
            return;
        }
        queue.add(change);
    }

    /**
     * Reads every record, for the start of a daemon (before any job runs). A file that cannot be read is reported in
     * {@link Loaded#problems()} (one line naming it and what is wrong) and left where it is; temporary files of
     * writes that never completed are deleted (the record before them stands).
     */
    public Loaded load() throws IOException {
        List<Path> candidates = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                if (name.endsWith(TEMPORARY_SUFFIX)) {
                    Files.deleteIfExists(file);
                } else if (RECORD_NAME.matcher(name).matches()) {
                    candidates.add(file);
                } else {
                    problems.add("Skipping " + file + ": not a job record's name (a job id); remove it from " + directory);
                }
            }
        }
        // One open, read and close per file: the system calls dominate (60 µs a file on a loaded 2-core VM), so a
        // few threads read at once.
        List<Object> outcomes;
        try (ForkJoinPool readers = new ForkJoinPool(LOAD_THREADS)) {
            outcomes = readers.submit(() -> candidates.parallelStream().map(JobRecords::readRecord).toList()).join();
        }
        List<JobRecord> records = new ArrayList<>(outcomes.size());
        for (Object outcome : outcomes) {
            switch (outcome) {
                case JobRecord record -> records.add(record);
                case String problem -> problems.add(problem);
                default -> { } // removed meanwhile
            }
        }
        return new Loaded(records, problems);
    }

    /** The record in {@code file}, or a line saying why it cannot be read, or {@link #GONE}. */
    private static Object readRecord(Path file) {
        String name = file.getFileName().toString();
        try {
            JobRecord record = JobRecordCodec.decode(Files.readAllBytes(file));
            if (!record.id().equals(name)) {
                return "Skipping job record " + file + ": it holds job " + record.id()
                        + ", not the job it is named after; remove it";
            }
            return record;
        } catch (JobRecordCodec.CorruptRecordException e) {
            return "Skipping job record " + file + ": it " + e.getMessage() + "; remove it once inspected";
        } catch (NoSuchFileException gone) {
            return GONE;
        } catch (IOException e) {
            return "Skipping job record " + file + ": cannot read it: " + e.getMessage();
        }
    }

    /** The failure text of a job whose record said it ran (or was starting) when the previous daemon stopped. */
    static final String END_NOT_OBSERVED = "the daemon restarted while the job %s; its end was not observed, and what was"
            + " left of it was killed when the next daemon started";

    /**
     * Reads every record for the start of a daemon ({@link #load}), reports each file it cannot read in one log line,
     * and sorts the records of jobs that were starting or running when the previous daemon stopped: those the keeper
     * still holds ({@code stillHeld}: alive, or ended with their exit kept) are returned to be adopted; the others
     * (the keeper is gone with them, e.g. the host restarted) are made final, ended at {@code now} with a failure text
     * saying their end was not observed.
     */
    public Restored restore(java.time.Instant now, Set<String> stillHeld) throws IOException {
        long began = System.nanoTime();
        Loaded loaded = load();
        loaded.problems().forEach(LOG::warn);
        List<JobRecord> restored = new ArrayList<>(loaded.records().size());
        List<JobRecord> interrupted = new ArrayList<>();
        List<JobRecord> running = new ArrayList<>();
        for (JobRecord record : loaded.records()) {
            if (record.status().state().isFinal()) {
                restored.add(record);
                continue;
            }
            if (stillHeld.contains(record.id())) {
                running.add(record);
                specFields.put(record.id(), JobRecordCodec.specFields(record.spec(), record.owner(), record.labels(), record.id()));
                continue;
            }
            JobRecord ended = record.withStatus(endNotObserved(record.status(), now));
            interrupted.add(ended);
            restored.add(ended);
            LOG.warn("Job {} was {} when the previous daemon stopped; it is recorded as ended, its end not observed",
                    record.id(), record.status().state());
        }
        rewrite(interrupted);
        LOG.info("Read {} job records from {} in {} ms ({} unreadable, {} still running, {} whose end was not observed)",
                restored.size() + running.size(), directory, (System.nanoTime() - began) / 1_000_000,
                loaded.problems().size(), running.size(), interrupted.size());
        return new Restored(restored, running);
    }

    private static JobStatus endNotObserved(JobStatus status, java.time.Instant now) {
        String when = status.state() == JobState.STARTING ? "was starting" : "ran";
        return new JobStatus(status.id(), status.command(), status.args(), JobState.EXITED, status.pid(), status.uid(),
                null, null, false, false, status.stoppedByRequest(), status.createdAt(), status.startedAt(), now, null,
                END_NOT_OBSERVED.formatted(when), status.outputHeld(), status.control().thawedAt(now), status.labels(),
                status.groups());
    }

    /**
     * Replaces the records of {@code rewritten} (jobs whose end was not observed, now final) on the calling thread,
     * forced to disk as one group; for the start of a daemon, before the writer has anything to do.
     */
    public void rewrite(List<JobRecord> rewritten) throws IOException {
        List<Path> temporaries = new ArrayList<>(rewritten.size());
        for (JobRecord record : rewritten) {
            temporaries.add(writeTemporary(record.id(), JobRecordCodec.encode(record)));
        }
        boolean sync = settings.syncFinal() && !rewritten.isEmpty();
        if (sync) {
            syncFileSystem();
        }
        for (int i = 0; i < rewritten.size(); i++) {
            Files.move(temporaries.get(i), fileOf(rewritten.get(i).id()), StandardCopyOption.ATOMIC_MOVE);
        }
        if (sync) {
            syncFileSystem();
        }
    }

    private void writeLoop() {
        List<Change> batch = new ArrayList<>(settings.maxBatch());
        while (true) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(batch, settings.maxBatch() - 1);
            boolean closing = apply(batch);
            batch.clear();
            if (closing) {
                return;
            }
        }
    }

    /**
     * Applies one batch, in order per job: each update is written to a temporary file; if a final record is among
     * them (and sync-final is on), the file system is forced to disk once (syncfs), so the new records' bytes are
     * durable before any of them replaces a record; then they are renamed over their records, deletions done, and the
     * file system forced once more, making the renames durable. Two flushes per batch, however many records it
     * holds: the group commit. An update followed by another of the same job in the batch is not written at all (the
     * later one would replace it before either is forced). Returns true if the batch closes the writer.
     */
    private boolean apply(List<Change> batch) {
        boolean closing = false;
        boolean sync = false;
        List<Change> written = new ArrayList<>(batch.size());
        List<Path> temporaries = new ArrayList<>(batch.size());
        Map<String, Integer> lastUpdates = lastUpdateOfEachJob(batch);
        for (int index = 0; index < batch.size(); index++) {
            Change change = batch.get(index);
            int position = index;
            try {
                switch (change) {
                    case Update update when lastUpdates.get(update.status().id()) != position -> {
                        // A later update of the same job is in this batch and replaces this one before any flush:
                        // a short job's running and final records cost one write and one rename, not two.
                    }
                    case Update update -> {
                        Path temporary = writeTemporary(update.status(), update.stopKillAt());
                        if (temporary != null) {
                            written.add(change);
                            temporaries.add(temporary);
                            sync |= update.status().state().isFinal() && settings.syncFinal();
                        }
                    }
                    case Delete delete -> {
                        written.add(change);
                        temporaries.add(null);
                    }
                    case Close close -> closing = true;
                }
            } catch (IOException | RuntimeException e) {
                failed(change, e);
            }
        }
        if (sync) {
            syncFileSystem();
        }
        for (int i = 0; i < written.size(); i++) {
            Change change = written.get(i);
            try {
                switch (change) {
                    case Update update -> Files.move(temporaries.get(i), fileOf(update.status().id()), StandardCopyOption.ATOMIC_MOVE);
                    case Delete delete -> {
                        specFields.remove(delete.jobId());
                        Files.deleteIfExists(fileOf(delete.jobId()));
                        Files.deleteIfExists(directory.resolve(delete.jobId() + TEMPORARY_SUFFIX));
                    }
                    case Close close -> { }
                }
            } catch (IOException | RuntimeException e) {
                failed(change, e);
            }
        }
        if (sync) {
            syncFileSystem();
        }
        for (Change change : batch) {
            if (change instanceof Update update) {
                update.written().complete(null);
            }
        }
        return closing;
    }

    /** The index of the last update of each job in {@code batch}. */
    private static Map<String, Integer> lastUpdateOfEachJob(List<Change> batch) {
        Map<String, Integer> last = new java.util.HashMap<>();
        for (int index = 0; index < batch.size(); index++) {
            if (batch.get(index) instanceof Update update) {
                last.put(update.status().id(), index);
            }
        }
        return last;
    }

    private void failed(Change change, Exception e) {
        LOG.error("Cannot keep the record of a job ({}): {}; its previous record stands (check free space and"
                + " permissions of {})", change, e.toString(), directory);
    }

    private void syncFileSystem() {
        try {
            FileSystemSync.syncFileSystemOf(directory);
        } catch (LinuxException e) {
            LOG.error("Cannot force {} to disk: {}; the last final records may not survive a power loss", directory,
                    e.getMessage());
        }
    }

    /** Writes one update to its temporary file; null if the job's record is gone (deleted meanwhile). */
    private Path writeTemporary(JobStatus status, Instant stopKillAt) throws IOException {
        boolean last = status.state().isFinal();
        byte[] fields = last ? specFields.remove(status.id()) : specFields.get(status.id());
        if (fields == null) {
            return null;
        }
        return writeTemporary(status.id(), JobRecordCodec.encode(fields, status, stopKillAt));
    }

    private Path writeTemporary(String jobId, byte[] bytes) throws IOException {
        Path temporary = directory.resolve(jobId + TEMPORARY_SUFFIX);
        try (FileChannel file = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(file, bytes);
        }
        return temporary;
    }

    private static void writeFully(FileChannel file, byte[] bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
            file.write(buffer);
        }
    }

    /** Applies everything queued (forcing final records as usual), then stops the writer. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        queue.add(new Close());
        closed = true;
        try {
            if (!writer.join(java.time.Duration.ofSeconds(CLOSE_WAIT_SECONDS))) {
                LOG.warn("The job-record writer did not finish within {} s; {} updates were not written",
                        CLOSE_WAIT_SECONDS, queue.size());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
