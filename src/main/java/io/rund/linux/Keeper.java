package io.rund.linux;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ProcessBuilder.Redirect;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's connection to rund-keeper (src/main/c/keeper.c, whose header comment is the protocol): the native
 * process that spawns the jobs, is their parent, reaps them and keeps their pidfds and pipe read ends, so that jobs,
 * their output and their exits outlive a crash or restart of the daemon. {@link #connectOrStart} connects to the
 * keeper of a state directory, starting one if none answers; its hello lists the jobs the keeper holds. Replies and
 * exits are read on the {@link ExitWatcher}'s epoll thread ({@link ExitWatcher#attach}); spawns wait for their reply.
 * {@link #close} drops the connection as a crash would: the keeper keeps every job.
 */
public final class Keeper implements ProcessSpawner, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Keeper.class);

    static final int PROTOCOL_VERSION = 1;
    static final int HEADER_BYTES = 16;
    static final int HELLO = 1;
    static final int SPAWN = 2;
    static final int RELEASE = 3;
    static final int SHUTDOWN = 4;
    static final int HELLO_OK = 101;
    static final int JOB = 102;
    static final int SPAWNED = 103;
    static final int SPAWN_FAILED = 104;
    static final int EXITED = 105;
    static final int RELEASED = 106;
    /** The keeper's own messages are small (an exit record is under 100 bytes); anything larger is a broken stream. */
    private static final int MAX_INBOUND_BYTES = 4096;
    /** The fixed part of SPAWN: i32 uid, gid, ngroups, no_new_privs; i64 nofile; u32 argc, envc, has_cwd; padding. */
    private static final int SPAWN_FIXED_BYTES = 40;
    private static final int CLD_EXITED = 1;
    private static final int CLD_KILLED = 2;
    private static final int CLD_DUMPED = 3;
    private static final int EPIPE = 32;
    private static final int ETIMEDOUT = 110;
    private static final int ECONNREFUSED = 111;
    private static final int EBUSY = 16;
    /** How long a new keeper may take to listen, and a hello or a spawn to be answered (a spawn takes ~0.5 ms). */
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(30);
    /** Connection attempts: a keeper may be exiting (no job, no daemon) just as we connect; the next one starts anew. */
    private static final int CONNECT_ATTEMPTS = 5;
    private static final Duration RETRY_PAUSE = Duration.ofMillis(200);
    private static final String KEEPER_RESOURCE = "/native/linux-x86_64/rund-keeper";

    /** Where the keeper of one state directory lives: its socket, lock, log and executable, and its cgroup leaf. */
    public record Location(Path stateDirectory, Path cgroupLeaf) {
        public Path socket() {
            return stateDirectory.resolve("keeper.sock");
        }

        Path lock() {
            return stateDirectory.resolve("keeper.lock");
        }

        /** The keeper's stderr: what it did and why it refused or dropped a connection. */
        public Path logFile() {
            return stateDirectory.resolve("keeper.log");
        }

        Path executable() {
            return stateDirectory.resolve("rund-keeper");
        }
    }

    private record Message(int type, long tag, ByteBuffer body, int[] fds) {}

    /** The keeper speaks another protocol version: refused at once, never retried, its jobs left untouched. */
    public static final class NewerKeeperException extends IOException {
        NewerKeeperException(String message) {
            super(message);
        }
    }

    /** A spawn waiting for its reply. */
    private record PendingSpawn(String jobId, CompletableFuture<Message> reply) {}

    private final Location location;
    private final int fd;
    private final int keeperPid;
    private final List<KeptJob> held;
    private final Object sendLock = new Object();
    private final AtomicLong nextTag = new AtomicLong(1);
    private final Map<Long, PendingSpawn> pending = new ConcurrentHashMap<>();
    /** Jobs this connection spawned or was told of, by pid: their exits come from the keeper, not from waitid. */
    private final Map<Integer, String> jobsByPid = new ConcurrentHashMap<>();
    /** RELEASE is sent from here, never from the epoll thread, which must keep reading whatever the keeper sends. */
    private final ExecutorService releases = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("rund-keeper-release").daemon(true).factory());
    private final Arena arena = Arena.ofShared();
    private final MemorySegment inbound = arena.allocate(MAX_INBOUND_BYTES);
    private final ArrayDeque<Integer> inboundFds = new ArrayDeque<>();
    private long inboundHave;
    private volatile boolean closed;
    private volatile BiConsumer<String, ProcessExit> exitListener = (job, exit) -> {};

    private Keeper(Location location, int fd) throws IOException {
        this.location = location;
        this.fd = fd;
        UnixSocket.setReceiveTimeout(fd, REPLY_TIMEOUT);
        long tag = nextTag.getAndIncrement();
        send(HELLO, tag, ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.nativeOrder()).putInt(PROTOCOL_VERSION).flip(),
                new int[0]);
        Message hello = readMessage(true);
        if (hello == null) {
            throw new IOException("the keeper at " + location.socket() + " did not answer its hello within " + REPLY_TIMEOUT);
        }
        if (hello.type() != HELLO_OK) {
            closeAll(hello.fds());
            throw new IOException("the keeper at " + location.socket() + " answered hello with message type " + hello.type());
        }
        int version = hello.body().getInt();
        keeperPid = hello.body().getInt();
        int count = hello.body().getInt();
        if (version != PROTOCOL_VERSION) {
            closeAll(hello.fds());
            throw new NewerKeeperException("rund-keeper (pid " + keeperPid + ") at " + location.socket()
                    + " speaks keeper protocol version " + version + " and this rund " + PROTOCOL_VERSION + ": its jobs"
                    + " belong to a " + (version > PROTOCOL_VERSION ? "newer" : "different") + " rund; serve "
                    + location.stateDirectory() + " with that rund (downgrades are not supported, see docs/KEEPER.md)");
        }
        List<KeptJob> jobs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Message job = readMessage(true);
            if (job == null || job.type() != JOB || job.fds().length != 3) {
                jobs.forEach(Keeper::closeFdsOf);
                throw new IOException("the keeper at " + location.socket() + " sent " + i + " of its " + count
                        + " jobs, then " + (job == null ? "nothing" : "message type " + job.type()));
            }
            ExitRecord record = ExitRecord.read(job.body());
            jobs.add(new KeptJob(record.jobId(), record.pid(), job.fds()[0], job.fds()[1], job.fds()[2], record.exit()));
        }
        held = List.copyOf(jobs);
    }

    /**
     * Connects to the keeper of {@code location}, starting one (from the executable in rund's jar, copied into the
     * state directory) if none answers. The state directory must exist and be private (mode 0700).
     */
    public static Keeper connectOrStart(Location location) throws IOException {
        IOException last = null;
        for (int attempt = 0; attempt < CONNECT_ATTEMPTS; attempt++) {
            int fd;
            boolean started = false;
            try {
                fd = UnixSocket.connect(location.socket());
            } catch (LinuxException e) {
                if (e.errno() != Libc.ENOENT && e.errno() != ECONNREFUSED) {
                    throw e;
                }
                start(location);
                started = true;
                fd = UnixSocket.connect(location.socket());
            }
            try {
                Keeper keeper = new Keeper(location, fd);
                if (started) {
                    log.info("Connected to rund-keeper (pid {}) at {}: it holds {} jobs", keeper.keeperPid,
                            location.socket(), keeper.held.size());
                } else {
                    log.info("Connected to rund-keeper (pid {}) at {}, left running by an earlier daemon: {}; keeper"
                                    + " protocol version {}, which this rund speaks; adopting from it the {} jobs it holds",
                            keeper.keeperPid, location.socket(), buildOf(keeper.keeperPid), PROTOCOL_VERSION,
                            keeper.held.size());
                }
                return keeper;
            } catch (NewerKeeperException e) {
                Fds.close(fd);
                throw e;
            } catch (IOException e) {
                Fds.close(fd);
                last = e; // the keeper was leaving, or another daemon is connected: try again
                pause();
            }
        }
        throw new IOException("cannot reach rund-keeper at " + location.socket() + " after " + CONNECT_ATTEMPTS
                + " attempts (is another rund serving " + location.stateDirectory() + "? see " + location.logFile()
                + "): " + last.getMessage(), last);
    }

    /**
     * Whether the running keeper {@code pid} is this rund's own build of rund-keeper (its executable's bytes the same
     * as the one in rund's jar) or an older one (a daemon of another build started it before an upgrade), in words.
     */
    private static String buildOf(int pid) {
        try (InputStream ours = Keeper.class.getResourceAsStream(KEEPER_RESOURCE)) {
            byte[] running = Files.readAllBytes(Path.of("/proc", Integer.toString(pid), "exe"));
            if (ours != null && Arrays.equals(running, ours.readAllBytes())) {
                return "the same rund-keeper executable as this rund's";
            }
            return "an OLDER rund-keeper (another build's executable: this rund's differs), kept until it holds no job";
        } catch (IOException e) {
            return "a rund-keeper whose executable cannot be read (" + e.getMessage() + ")";
        }
    }

    /** Starts a keeper and returns once it listens (or another keeper turned out to hold the lock). */
    private static void start(Location location) throws IOException {
        Path executable = location.executable();
        NativeLibrary.extractExecutable(KEEPER_RESOURCE, executable);
        Process process = new ProcessBuilder(executable.toString(), location.socket().toString(),
                location.lock().toString(), location.cgroupLeaf().toString())
                .redirectInput(Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(Redirect.appendTo(location.logFile().toFile()))
                .redirectErrorStream(true)
                .start();
        try {
            if (!process.waitFor(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException(executable + " did not start listening within " + REPLY_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting " + executable, e);
        }
        if (process.exitValue() != 0) {
            throw new IOException(executable + " failed to start (exit " + process.exitValue() + "): "
                    + lastLine(location.logFile()));
        }
        log.info("Started rund-keeper for {} (its log: {})", location.stateDirectory(), location.logFile());
    }

    /** The jobs the keeper held when this connection said hello; the daemon owns the descriptors in them. */
    public List<KeptJob> held() {
        return held;
    }

    public int keeperPid() {
        return keeperPid;
    }

    public Location location() {
        return location;
    }

    /** The connection's fd, for the epoll thread that reads it. */
    int fd() {
        return fd;
    }

    /** Whether {@code pid} is a job this keeper spawned for us (its exit then comes from the keeper). */
    boolean isKeeperChild(int pid) {
        return jobsByPid.containsKey(pid);
    }

    /** The job id of keeper child {@code pid}, or null. */
    String jobOf(int pid) {
        return jobsByPid.get(pid);
    }

    /** Who hears of exits (job id, exit): the {@link ExitWatcher} this keeper is attached to. */
    void onExit(BiConsumer<String, ProcessExit> listener) {
        exitListener = listener;
    }

    /** Makes the exits of held jobs, reported from now on, reach the exit listener like those of jobs spawned here. */
    public void track(KeptJob job) {
        jobsByPid.put(job.pid(), job.jobId());
    }

    @Override
    public SpawnedProcess spawn(String jobId, SpawnRequest request) throws SpawnException {
        long tag = nextTag.getAndIncrement();
        CompletableFuture<Message> reply = new CompletableFuture<>();
        pending.put(tag, new PendingSpawn(jobId, reply));
        try {
            if (closed) {
                throw new SpawnException(EPIPE, "keeper", location.socket().toString());
            }
            send(SPAWN, tag, encodeSpawn(jobId, request),
                    request.rdtTasksFd() >= 0 ? new int[] {request.cgroupFd(), request.rdtTasksFd()}
                            : request.cgroupFd() >= 0 ? new int[] {request.cgroupFd()} : new int[0]);
            Message answer = reply.get(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (answer.type() == SPAWNED && answer.fds().length == 3) {
                int pid = answer.body().getInt(); // in jobsByPid already: see handle()
                return new SpawnedProcess(pid, answer.fds()[0], answer.fds()[1], answer.fds()[2]);
            }
            closeAll(answer.fds());
            if (answer.type() == SPAWN_FAILED) {
                int errno = answer.body().getInt();
                throw Spawner.failure(errno, answer.body().getInt(), request);
            }
            throw new SpawnException(Libc.EACCES, "keeper", "unexpected reply type " + answer.type());
        } catch (LinuxException e) {
            throw new SpawnException(e.errno(), "keeper", location.socket().toString());
        } catch (TimeoutException e) {
            throw new SpawnException(ETIMEDOUT, "keeper", location.socket().toString());
        } catch (ExecutionException e) {
            throw new SpawnException(EPIPE, "keeper", location.socket() + " (" + e.getCause().getMessage() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SpawnException(Libc.EINTR, "keeper", location.socket().toString());
        } finally {
            pending.remove(tag);
        }
    }

    /**
     * The exit of keeper child {@code pid} was delivered: forgotten here. The keeper keeps it until the daemon has
     * read the job's output to its end and recorded its end ({@link #release}), so a crash in between loses neither.
     */
    void delivered(int pid) {
        jobsByPid.remove(pid);
    }

    /**
     * Tells the keeper the daemon has recorded job {@code jobId}'s end and read its output: the keeper closes its
     * copies of the job's descriptors and forgets it. Sent from a thread of its own; a refusal is logged.
     */
    public void release(String jobId) {
        if (closed) {
            return;
        }
        releases.execute(() -> {
            try {
                send(RELEASE, nextTag.getAndIncrement(), nulTerminated(jobId), new int[0]);
            } catch (LinuxException e) {
                if (!closed) {
                    log.warn("Cannot release job {} from the keeper: {}", jobId, e.getMessage());
                }
            }
        });
    }

    /**
     * Asks the keeper to exit once it holds no job, closes the connection and waits up to {@code timeout} for it to
     * go (its lock is free again). Returns whether it went. Call it once the epoll thread no longer reads.
     */
    public boolean shutdownAndAwaitExit(Duration timeout) throws IOException {
        try { // the releases queued before (jobs whose end is recorded) go first, or the keeper would wait for them
            releases.submit(() -> { }).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            log.warn("Releases to rund-keeper still pending after {}: {}", timeout, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        send(SHUTDOWN, nextTag.getAndIncrement(), ByteBuffer.allocate(0), new int[0]);
        UnixSocket.setReceiveTimeout(fd, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (System.nanoTime() < deadline) {
                Message message = readMessage(true);
                if (message != null) {
                    closeAll(message.fds());
                }
            }
            return false;
        } catch (KeeperGone gone) {
            return true;
        } finally {
            close();
        }
    }

    /** Drops the connection, as a crash of the daemon would: the keeper keeps every job. Idempotent. */
    @Override
    public void close() {
        synchronized (sendLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        releases.shutdown();
        failPending(new IOException("the connection to the keeper was closed"));
        try {
            Fds.close(fd);
        } catch (LinuxException e) {
            log.warn("Cannot close the keeper's socket: {}", e.getMessage());
        }
        synchronized (inboundFds) {
            inboundFds.forEach(Keeper::closeQuietly);
            inboundFds.clear();
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Reads and handles whatever the keeper has sent, without blocking; on the epoll thread. Returns false once the
     * connection is gone (the caller stops watching it).
     */
    boolean readAvailable() {
        if (closed) {
            return false;
        }
        try {
            Message message;
            while ((message = readMessage(false)) != null) {
                handle(message);
            }
            return true;
        } catch (IOException | RuntimeException e) { // a broken stream must not take the exit thread down
            if (!closed) {
                log.error("Lost the connection to rund-keeper (pid {}): {}; exits of running jobs will not be reported"
                        + " until a daemon reconnects (see {})", keeperPid, e.getMessage(), location.logFile());
                close();
            }
            return false;
        }
    }

    private void handle(Message message) {
        switch (message.type()) {
            case SPAWNED, SPAWN_FAILED -> {
                PendingSpawn waiting = pending.remove(message.tag());
                if (waiting != null && message.type() == SPAWNED) {
                    // Before the spawner hears of it: the job's exit may be the very next message.
                    jobsByPid.put(message.body().getInt(0), waiting.jobId());
                }
                if (waiting == null || !waiting.reply().complete(message)) {
                    closeAll(message.fds()); // the spawner gave up waiting; the keeper still holds the job
                }
            }
            case EXITED -> {
                ExitRecord record = ExitRecord.read(message.body());
                record.exit().ifPresent(exit -> exitListener.accept(record.jobId(), exit));
            }
            case RELEASED -> {
                int result = message.body().getInt();
                if (result != 0) {
                    log.warn("The keeper did not release job {}: {}", ExitRecord.string(message.body()),
                            result == EBUSY ? "it is still running" : Libc.strerror(result));
                }
            }
            default -> {
                closeAll(message.fds());
                log.warn("Ignoring a message of unknown type {} from the keeper", message.type());
            }
        }
    }

    /** Thrown when the keeper closed the connection (it exited, or dropped us). */
    private static final class KeeperGone extends IOException {
        KeeperGone() {
            super("the keeper closed the connection");
        }
    }

    /** The next whole message, or null if it has not all come yet (blocking: within the receive timeout). */
    private Message readMessage(boolean wait) throws IOException {
        while (true) {
            long want = inboundHave < HEADER_BYTES ? HEADER_BYTES - inboundHave : messageLength() - inboundHave;
            if (want == 0) {
                return takeMessage();
            }
            long read;
            synchronized (inboundFds) {
                if (closed) {
                    throw new IOException("the connection to the keeper was closed");
                }
                read = UnixSocket.receive(fd, inbound, inboundHave, want, wait, inboundFds::add);
            }
            if (read < 0) {
                return null;
            }
            if (read == 0) {
                throw new KeeperGone();
            }
            inboundHave += read;
            if (inboundHave == HEADER_BYTES) {
                long length = messageLength();
                if (length < HEADER_BYTES || length > MAX_INBOUND_BYTES) {
                    throw new IOException("the keeper sent a message of " + length + " bytes (at most "
                            + MAX_INBOUND_BYTES + ")");
                }
            }
        }
    }

    private long messageLength() {
        return Integer.toUnsignedLong(inbound.get(ValueLayout.JAVA_INT_UNALIGNED, 0));
    }

    private Message takeMessage() throws IOException {
        int length = (int) messageLength();
        int type = Short.toUnsignedInt(inbound.get(ValueLayout.JAVA_SHORT_UNALIGNED, 4));
        int fdCount = Short.toUnsignedInt(inbound.get(ValueLayout.JAVA_SHORT_UNALIGNED, 6));
        long tag = inbound.get(ValueLayout.JAVA_LONG_UNALIGNED, 8);
        byte[] body = inbound.asSlice(HEADER_BYTES, length - HEADER_BYTES).toArray(ValueLayout.JAVA_BYTE);
        inboundHave = 0;
        int[] fds = new int[fdCount];
        synchronized (inboundFds) {
            if (inboundFds.size() != fdCount) {
                throw new IOException("the keeper's message of type " + type + " announced " + fdCount
                        + " descriptors and carried " + inboundFds.size());
            }
            for (int i = 0; i < fdCount; i++) {
                fds[i] = inboundFds.poll();
            }
        }
        return new Message(type, tag, ByteBuffer.wrap(body).order(ByteOrder.nativeOrder()), fds);
    }

    private void send(int type, long tag, ByteBuffer body, int[] fds) throws LinuxException {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment message = call.allocate(HEADER_BYTES + (long) body.remaining(), Long.BYTES);
            message.set(ValueLayout.JAVA_INT, 0, HEADER_BYTES + body.remaining());
            message.set(ValueLayout.JAVA_SHORT, 4, (short) type);
            message.set(ValueLayout.JAVA_SHORT, 6, (short) fds.length);
            message.set(ValueLayout.JAVA_LONG, 8, tag);
            MemorySegment.copy(MemorySegment.ofBuffer(body), 0, message, HEADER_BYTES, body.remaining());
            synchronized (sendLock) {
                if (closed) {
                    throw new LinuxException("sendmsg", "the keeper's socket (closed)", EPIPE);
                }
                UnixSocket.send(fd, message, fds);
            }
        }
    }

    private static ByteBuffer encodeSpawn(String jobId, SpawnRequest request) {
        int[] groups = request.supplementaryGroups();
        int groupCount = Spawner.groupCount(request);
        List<byte[]> strings = new ArrayList<>();
        strings.add(jobId.getBytes(StandardCharsets.UTF_8));
        strings.add(request.executable().getBytes(StandardCharsets.UTF_8));
        if (request.workingDirectory() != null) {
            strings.add(request.workingDirectory().toString().getBytes(StandardCharsets.UTF_8));
        }
        request.argv().forEach(arg -> strings.add(arg.getBytes(StandardCharsets.UTF_8)));
        request.environment().forEach(entry -> strings.add(entry.getBytes(StandardCharsets.UTF_8)));
        long size = SPAWN_FIXED_BYTES + (long) Math.max(groupCount, 0) * Integer.BYTES;
        for (byte[] string : strings) {
            size += string.length + 1;
        }
        ByteBuffer body = ByteBuffer.allocate(Math.toIntExact(size)).order(ByteOrder.nativeOrder());
        body.putInt(request.uid()).putInt(request.gid()).putInt(groupCount).putInt(request.noNewPrivileges() ? 1 : 0)
                .putLong(request.openFilesSoftLimit())
                .putInt(request.argv().size()).putInt(request.environment().size())
                .putInt(request.workingDirectory() != null ? 1 : 0).putInt(0); // padding to the C struct's 40 bytes
        if (groupCount > 0) {
            for (int group : groups) {
                body.putInt(group);
            }
        }
        for (byte[] string : strings) {
            body.put(string).put((byte) 0);
        }
        return body.flip();
    }

    private static ByteBuffer nulTerminated(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(bytes.length + 1).put(bytes).put((byte) 0).flip();
    }

    /** An exit record (see keeper.c): pid, whether it ended and how, when, and the job id. */
    private record ExitRecord(String jobId, int pid, Optional<ProcessExit> exit) {
        static ExitRecord read(ByteBuffer body) {
            int pid = body.getInt();
            boolean ended = body.getInt() != 0;
            int code = body.getInt();
            int status = body.getInt();
            Instant at = Instant.ofEpochSecond(body.getLong(), body.getInt());
            String jobId = string(body);
            if (!ended) {
                return new ExitRecord(jobId, pid, Optional.empty());
            }
            return new ExitRecord(jobId, pid, Optional.of(switch (code) {
                case CLD_EXITED -> ProcessExit.ofExitCode(pid, status, at);
                case CLD_KILLED -> ProcessExit.ofSignal(pid, status, false, at);
                case CLD_DUMPED -> ProcessExit.ofSignal(pid, status, true, at);
                default -> throw new IllegalStateException("the keeper reported si_code " + code + " for pid " + pid);
            }));
        }

        static String string(ByteBuffer body) {
            int start = body.position();
            int end = start;
            while (end < body.limit() && body.get(end) != 0) {
                end++;
            }
            String text = new String(body.array(), body.arrayOffset() + start, end - start, StandardCharsets.UTF_8);
            body.position(Math.min(end + 1, body.limit()));
            return text;
        }
    }

    private void failPending(IOException reason) {
        for (PendingSpawn waiting : pending.values()) {
            waiting.reply().completeExceptionally(reason);
        }
    }

    private static void closeFdsOf(KeptJob job) {
        closeAll(new int[] {job.pidfd(), job.stdoutFd(), job.stderrFd()});
    }

    private static void closeAll(int[] fds) {
        for (int fd : fds) {
            closeQuietly(fd);
        }
    }

    private static void closeQuietly(int fd) {
        try {
            Fds.close(fd);
        } catch (LinuxException e) {
            log.warn("Cannot close fd {} received from the keeper: {}", fd, e.getMessage());
        }
    }

    private static void pause() {
        try {
            Thread.sleep(RETRY_PAUSE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String lastLine(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return lines.isEmpty() ? "(its log " + file + " is empty)" : lines.getLast() + " (" + file + ")";
        } catch (IOException e) {
            return "(cannot read its log " + file + ": " + e.getMessage() + ")";
        }
    }
}
