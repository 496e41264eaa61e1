package io.rund.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputPumpTest {
    private static final int BIG_OUTPUT_BYTES = 50 * 1024 * 1024;
    private static final int SMALL_JOBS = 100;
    /** Not a timing threshold: only keeps a broken pump from hanging the build forever. */
    private static final long HANG_GUARD_SECONDS = 120;

    /** Reads up to {@code available} bytes out of a job's pipe, as a sink that keeps output in memory would. */
    private static ByteBuffer take(int pipeFd, int available) throws java.io.IOException {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buffer = arena.allocate(available);
            int read = Fds.read(pipeFd, buffer);
            int count = Math.max(read, 0);
            return ByteBuffer.wrap(buffer.asSlice(0, count).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    /** Records what one job's sink received and checks the contract as it goes. */
    private static final class RecordingSink implements OutputSink {
        final MessageDigest stdoutDigest;
        final StringBuilder stdout = new StringBuilder();
        final StringBuilder stderr = new StringBuilder();
        final CompletableFuture<Void> closed = new CompletableFuture<>();
        final AtomicInteger closedCalls = new AtomicInteger();
        final List<String> violations = new ArrayList<>();
        long stdoutBytes;
        final boolean keepText;

        RecordingSink(boolean keepText) throws Exception {
            this.stdoutDigest = MessageDigest.getInstance("SHA-256");
            this.keepText = keepText;
        }

        @Override
        public long onReadable(int fd, int pipeFd, int available) throws java.io.IOException {
            if (closedCalls.get() > 0) {
                violations.add("onReadable after onClosed");
            }
            if (!Thread.currentThread().getName().equals(OutputPump.THREAD_NAME)) {
                violations.add("onReadable on thread " + Thread.currentThread().getName());
            }
            if (available < 1 || available > OutputPump.BUFFER_BYTES) {
                violations.add("offered " + available + " bytes, not 1 to the pump buffer's size");
            }
            ByteBuffer data = take(pipeFd, available);
            if (data.remaining() != available) {
                violations.add("offered " + available + " bytes but the pipe held " + data.remaining());
            }
            if (fd == STDOUT) {
                stdoutBytes += data.remaining();
                if (keepText) {
                    stdout.append(StandardCharsets.UTF_8.decode(data.duplicate()));
                }
                stdoutDigest.update(data);
            } else if (fd == STDERR) {
                stderr.append(StandardCharsets.UTF_8.decode(data));
            } else {
                violations.add("unknown fd " + fd);
            }
            return available;
        }

        @Override
        public void onClosed() {
            if (closedCalls.incrementAndGet() > 1) {
                violations.add("onClosed called again");
            }
            closed.complete(null);
        }

        void awaitClosed() throws Exception {
            closed.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Test
    void fiftyMegabytesArriveIntact(@TempDir Path dir) throws Exception {
        Path source = dir.resolve("random.bin");
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        Random random = new Random(42);
        byte[] chunk = new byte[1024 * 1024];
        try (OutputStream out = Files.newOutputStream(source)) {
            for (int written = 0; written < BIG_OUTPUT_BYTES; written += chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk);
                expected.update(chunk);
            }
        }
        RecordingSink sink = new RecordingSink(false);
        try (ExitWatcher watcher = new ExitWatcher(); OutputPump pump = new OutputPump()) {
            SpawnedProcess process = Spawner.spawn(TestJobs.request("cat", source.toString()));
            CompletableFuture<ProcessExit> exit = new CompletableFuture<>();
            watcher.watch(process.pid(), process.pidfd(), exit::complete);
            pump.pump(process.stdoutFd(), process.stderrFd(), sink);
            sink.awaitClosed();
            assertEquals(0, exit.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS).exitCode());
        }
        assertEquals(List.of(), sink.violations);
        assertEquals(BIG_OUTPUT_BYTES, sink.stdoutBytes);
        assertArrayEquals(expected.digest(), sink.stdoutDigest.digest());
        assertEquals("", sink.stderr.toString());
    }

    @Test
    void stdoutAndStderrStaySeparate() throws Exception {
        RecordingSink sink = new RecordingSink(true);
        try (OutputPump pump = new OutputPump()) {
            SpawnedProcess process = Spawner.spawn(TestJobs.request("sh", "-c",
                    "echo out1; echo err1 >&2; echo out2; echo err2 >&2"));
            pump.pump(process.stdoutFd(), process.stderrFd(), sink);
            sink.awaitClosed();
            assertEquals(0, Pidfd.waitExit(process.pidfd()).exitCode());
            Fds.close(process.pidfd());
        }
        assertEquals(List.of(), sink.violations);
        assertEquals("out1\nout2\n", sink.stdout.toString());
        assertEquals("err1\nerr2\n", sink.stderr.toString());
    }

    @Test
    void manySmallJobsAllClose() throws Exception {
        List<RecordingSink> sinks = new ArrayList<>();
        List<SpawnedProcess> processes = new ArrayList<>();
        try (OutputPump pump = new OutputPump()) {
            for (int i = 0; i < SMALL_JOBS; i++) {
                RecordingSink sink = new RecordingSink(true);
                SpawnedProcess process = Spawner.spawn(TestJobs.request("sh", "-c", "echo job " + i + "; echo e" + i + " >&2"));
                processes.add(process);
                sinks.add(sink);
                pump.pump(process.stdoutFd(), process.stderrFd(), sink);
            }
            for (RecordingSink sink : sinks) {
                sink.awaitClosed();
            }
        } finally {
            for (SpawnedProcess process : processes) {
                Pidfd.waitExit(process.pidfd());
                Fds.close(process.pidfd());
            }
        }
        for (int i = 0; i < SMALL_JOBS; i++) {
            RecordingSink sink = sinks.get(i);
            assertEquals(List.of(), sink.violations, "job " + i);
            assertEquals("job " + i + "\n", sink.stdout.toString());
            assertEquals("e" + i + "\n", sink.stderr.toString());
            assertEquals(1, sink.closedCalls.get());
        }
    }

    @Test
    void aFailingSinkIsClosedOnceAndTheJobSeesABrokenPipe() throws Exception {
        AtomicInteger outputs = new AtomicInteger();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        AtomicInteger closedCalls = new AtomicInteger();
        try (OutputPump pump = new OutputPump()) {
            SpawnedProcess process = Spawner.spawn(TestJobs.request("sh", "-c", "while echo more; do :; done"));
            pump.pump(process.stdoutFd(), process.stderrFd(), new OutputSink() {
                @Override
                public long onReadable(int fd, int pipeFd, int available) {
                    outputs.incrementAndGet();
                    throw new IllegalStateException("sink failure the pump must survive");
                }

                @Override
                public void onClosed() {
                    closedCalls.incrementAndGet();
                    closed.complete(null);
                }
            });
            closed.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
            // The pump closed the read end, so the endless writer dies of SIGPIPE: nothing leaks.
            ProcessExit exit = Pidfd.waitExit(process.pidfd());
            Fds.close(process.pidfd());
            assertEquals(Signals.SIGPIPE, exit.signal(), exit.describe());
        }
        assertEquals(1, outputs.get());
        assertEquals(1, closedCalls.get());
    }

    /** A sink whose writes fail (as on a full disk) while {@code full} is set; records what it took. */
    private static final class FullDiskSink implements OutputSink {
        final java.io.ByteArrayOutputStream taken = new java.io.ByteArrayOutputStream();
        final AtomicInteger failedOffers = new AtomicInteger();
        final AtomicInteger helds = new AtomicInteger();
        final AtomicInteger resumes = new AtomicInteger();
        final CompletableFuture<Long> discarded = new CompletableFuture<>();
        final CompletableFuture<Void> held = new CompletableFuture<>();
        final CompletableFuture<Void> closed = new CompletableFuture<>();
        volatile boolean full = true;

        @Override
        public long onReadable(int fd, int pipeFd, int available) throws java.io.IOException {
            if (full) {
                failedOffers.incrementAndGet();
                throw new java.io.IOException("No space left on device");
            }
            ByteBuffer data = take(pipeFd, available);
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            taken.writeBytes(bytes);
            return bytes.length;
        }

        @Override
        public void onHeld(java.io.IOException why) {
            helds.incrementAndGet();
            held.complete(null);
        }

        @Override
        public void onResumed() {
            resumes.incrementAndGet();
        }

        @Override
        public void onDiscarded(long bytes, java.io.IOException why) {
            discarded.complete(bytes);
        }

        @Override
        public void onClosed() {
            closed.complete(null);
        }
    }

    @Test
    void aSinkThatCannotWriteHoldsTheJobWithoutKillingItAndNothingIsLost() throws Exception {
        FullDiskSink sink = new FullDiskSink();
        try (OutputPump pump = new OutputPump()) {
            SpawnedProcess process = Spawner.spawn(TestJobs.request("seq", "1", "200000"));
            pump.pump(process.stdoutFd(), process.stderrFd(), sink);
            sink.held.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
            while (sink.failedOffers.get() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(10); // the kept chunk is offered again, with back-off
            }
            assertTrue(sink.failedOffers.get() >= 3, "retried: " + sink.failedOffers.get() + " offers failed");
            sink.full = false;
            sink.closed.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
            ProcessExit exit = Pidfd.waitExit(process.pidfd());
            Fds.close(process.pidfd());
            assertEquals(0, exit.exitCode(), "held, never killed: " + exit.describe());
        }
        StringBuilder expected = new StringBuilder();
        for (int i = 1; i <= 200000; i++) {
            expected.append(i).append('\n');
        }
        assertEquals(expected.toString(), sink.taken.toString(StandardCharsets.US_ASCII), "every byte, in order");
        assertEquals(1, sink.helds.get(), "one hold");
        assertEquals(1, sink.resumes.get(), "one resumption");
    }

    @Test
    void heldOutputOfAJobWhoseProcessesAreGoneIsDiscardedWhenAskedAndTheJobCloses() throws Exception {
        FullDiskSink sink = new FullDiskSink();
        try (OutputPump pump = new OutputPump()) {
            SpawnedProcess process = Spawner.spawn(TestJobs.request("yes", "held"));
            OutputPump.Pumping pumping = pump.pump(process.stdoutFd(), process.stderrFd(), sink);
            sink.held.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
            Pidfd.sendSignal(process.pidfd(), Signals.SIGKILL);
            assertEquals(Signals.SIGKILL, Pidfd.waitExit(process.pidfd()).signal());
            Fds.close(process.pidfd());
            pumping.discardUnwritable();
            assertTrue(sink.discarded.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS) > 0, "says how much was dropped");
            sink.closed.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
        }
        assertEquals(0, sink.resumes.get());
    }

    @Test
    void closingThePumpClosesRunningJobs() throws Exception {
        RecordingSink sink = new RecordingSink(true);
        SpawnedProcess process = Spawner.spawn(TestJobs.request("sh", "-c", "echo started; exec sleep 1000"));
        try {
            OutputPump pump = new OutputPump();
            pump.pump(process.stdoutFd(), process.stderrFd(), sink);
            pump.close();
            sink.awaitClosed();
            assertEquals(1, sink.closedCalls.get());
            assertEquals(List.of(), sink.violations);
        } finally {
            Pidfd.sendSignal(process.pidfd(), Signals.SIGKILL);
            Pidfd.waitExit(process.pidfd());
            Fds.close(process.pidfd());
        }
    }
}
