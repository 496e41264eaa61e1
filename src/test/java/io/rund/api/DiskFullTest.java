package io.rund.api;

import static io.rund.api.LogReads.read;
import static io.rund.api.LogReads.request;
import static io.rund.api.LogReads.start;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rund.TestFiles;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A full state file system against a real rund whose state directory is on a small tmpfs this test mounts: a job
 * whose log cannot be written is held, never killed (its status says so and why), nor is another tenant's job; a
 * follower sees no gap; a job that exits meanwhile waits for its output; once space returns every byte arrives in
 * order and the jobs exit 0. A job stopped while
 * its output is held ends, and its final status says what was discarded; so does the daemon's shutdown (last, as
 * it ends the daemon).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DiskFullTest {

    /** Room for the daemon's few small files and the first bytes of the jobs' logs; the filler takes the rest. */
    private static final long TMPFS_BYTES = 8L * 1024 * 1024;
    private static final int FILLER_CHUNK = 64 * 1024;
    /** Lines of output per job: each writes about 1.6 MB, far more than the free space (none). */
    private static final int LINES = 200_000;
    private static final int WIDTH = 7;
    /** Lines of a job small enough (54 KB) to fit the pipe and the kept chunk, so it exits while held. */
    private static final int SHORT_LINES = 6_000;
    private static final String NO_SPACE = "No space left on device";

    private static Path mountPoint;
    private static ApiFixture rund;
    private static RundClient alice;
    private static RundClient carol;
    private Path gates;
    private Path filler;

    @BeforeAll
    static void mountAndStart() throws Exception {
        ApiFixture.assumeEngineCanRun();
        mountPoint = Files.createTempDirectory("rund-disk-full-");
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + TMPFS_BYTES + ",mode=0700",
                "rund-disk-full", mountPoint.toString()).redirectErrorStream(true).start();
        String said = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (mount.waitFor() != 0) {
            Files.delete(mountPoint);
            mountPoint = null;
            assumeTrue(false, "cannot mount a tmpfs for the state directory (needs root and mount rights): " + said);
        }
        rund = new ApiFixture("rund.state-directory = \"" + mountPoint.resolve("state") + "\"");
        rund.beforeAll(null);
        alice = rund.shared("alice");
        carol = rund.shared("carol");
    }

    @AfterAll
    static void stopAndUnmount() throws Exception {
        try {
            if (rund != null) {
                rund.afterAll(null);
            }
        } finally {
            if (mountPoint != null) {
                Process umount = new ProcessBuilder("umount", mountPoint.toString()).inheritIO().start();
                assertEquals(0, umount.waitFor(), "umount " + mountPoint);
                Files.delete(mountPoint);
            }
        }
    }

    @BeforeEach
    void gatesAndFiller() throws IOException {
        gates = Files.createTempDirectory("rund-disk-full-gates-");
        Files.setPosixFilePermissions(gates, PosixFilePermissions.fromString("rwxr-xr-x")); // jobs run as nobody
        filler = mountPoint.resolve("filler");
    }

    @AfterEach
    void removeGatesAndFiller() throws IOException {
        Files.deleteIfExists(filler);
        TestFiles.deleteTree(gates);
    }

    @Test
    @Order(1)
    void aJobWhoseLogCannotBeWrittenIsHeldNotKilledAndEveryByteArrivesOnceSpaceReturns() throws Exception {
        Path gate = gates.resolve("open");
        String aliceJob = start(alice, waitFor(gate) + "seq -f a%0" + WIDTH + "g 1 " + LINES);
        String carolJob = start(carol, waitFor(gate) + "seq -f c%0" + WIDTH + "g 1 " + LINES);
        String shortJob = start(alice, waitFor(gate) + "seq -f s%0" + WIDTH + "g 1 " + SHORT_LINES);
        Follower follower = Follower.start(alice, aliceJob);
        fillTheDisk();
        Files.createFile(gate);

        JobStatus aliceHeld = awaitHeld(alice, aliceJob);
        JobStatus carolHeld = awaitHeld(carol, carolJob);
        for (JobStatus held : new JobStatus[] {aliceHeld, carolHeld}) {
            assertEquals(JobState.JOB_STATE_RUNNING, held.getState(), "held, not killed: " + held);
            assertFalse(held.hasSignal(), held.toString());
            assertTrue(held.getOutputHeld().contains(NO_SPACE), "says why: " + held.getOutputHeld());
        }
        JobStatus shortHeld = awaitHeld(alice, shortJob);
        Path shortProcess = Path.of("/proc", Integer.toString(shortHeld.getPid().getValue()));
        LogReads.until(() -> !Files.exists(shortProcess), "the short job's process exited and was reaped");
        JobStatus exitedButHeld = alice.status(StatusRequest.newBuilder().setJobId(shortJob).build()).getStatus();
        assertEquals(JobState.JOB_STATE_RUNNING, exitedButHeld.getState(), "not ended while output is held");
        assertFalse(exitedButHeld.getOutputHeld().isEmpty(), exitedButHeld.toString());
        byte[] expected = LogReads.seq("a", WIDTH, 1, LINES);
        byte[] soFar = follower.received();
        assertTrue(soFar.length < expected.length, "the disk is full, so not everything can have arrived yet");
        assertArrayEquals(Arrays.copyOf(expected, soFar.length), soFar, "what the follower has is a prefix: no gap");

        Files.delete(filler);
        JobStatus aliceEnd = LogReads.awaitEnd(alice, aliceJob);
        JobStatus carolEnd = LogReads.awaitEnd(carol, carolJob);
        JobStatus shortEnd = LogReads.awaitEnd(alice, shortJob);
        for (JobStatus end : new JobStatus[] {aliceEnd, carolEnd, shortEnd}) {
            assertTrue(end.hasExitCode() && end.getExitCode().getValue() == 0, "exited 0: " + end);
            assertEquals("", end.getOutputHeld(), "no longer held: " + end);
        }
        assertArrayEquals(expected, follower.all(), "the follower got every byte, in order");
        assertArrayEquals(expected, read(alice, request(aliceJob).build()).bytes(null));
        assertArrayEquals(LogReads.seq("c", WIDTH, 1, LINES), read(carol, request(carolJob).build()).bytes(null));
        assertArrayEquals(LogReads.seq("s", WIDTH, 1, SHORT_LINES), read(alice, request(shortJob).build()).bytes(null),
                "a job that exited while held: its remaining output was written once space returned");
    }

    @Test
    @Order(2)
    void aJobStoppedWhileItsOutputIsHeldEndsAndSaysWhatWasDiscarded() throws Exception {
        String job = startHeldJob();

        JobStatus stopped = alice.stop(StopRequest.newBuilder().setJobId(job).build()).getStatus();
        assertEquals(JobState.JOB_STATE_EXITED, stopped.getState(), stopped.toString());
        assertTrue(stopped.getStoppedByRequest(), stopped.toString());
        assertTrue(stopped.getOutputHeld().contains("discarded") && stopped.getOutputHeld().contains(NO_SPACE),
                "the final status says what was discarded and why: " + stopped.getOutputHeld());
        LogReads.Stream log = read(alice, request(job).setFollow(true).build());
        assertEquals(JobState.JOB_STATE_EXITED, log.trailer().getState(), "a follower of the stopped job finishes");
        String kept = log.text();
        assertEquals("held\n".repeat(kept.length() / 5 + 1).substring(0, kept.length()), kept,
                "what was written before the disk filled stays, whole");
    }

    @Test
    @Order(3)
    void theDaemonShutsDownWithoutWaitingForSpaceWhileAJobsOutputIsHeld() throws Exception {
        startHeldJob();

        rund.daemon().shutdown().get(LogReads.HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        assertFalse(Files.exists(rund.subtree()), "every job ended and rund removed its cgroups");
    }

    /** Starts a job of alice's that writes without end, fills the disk, and returns once its output is held. */
    private String startHeldJob() throws Exception {
        Path gate = gates.resolve("open");
        String job = start(alice, waitFor(gate) + "exec yes held");
        fillTheDisk();
        Files.createFile(gate);
        awaitHeld(alice, job);
        return job;
    }

    /** Shell that waits until {@code gate} exists, so the job writes only once the disk is full. */
    private static String waitFor(Path gate) {
        return "while [ ! -e " + gate + " ]; do sleep 0.05; done; ";
    }

    /** Writes the filler until the file system refuses more. */
    private void fillTheDisk() throws IOException {
        byte[] chunk = new byte[FILLER_CHUNK];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException e) {
            assertTrue(String.valueOf(e.getMessage()).contains(NO_SPACE) || Files.size(filler) > 0,
                    "the filler stopped because the disk is full: " + e);
        }
    }

    private static JobStatus awaitHeld(RundClient client, String job) throws InterruptedException {
        JobStatus[] last = new JobStatus[1];
        LogReads.until(() -> {
            last[0] = client.status(StatusRequest.newBuilder().setJobId(job).build()).getStatus();
            return !last[0].getOutputHeld().isEmpty() || last[0].getState() == JobState.JOB_STATE_EXITED;
        }, "job " + job + "'s output held");
        return last[0];
    }

    /** A follower on its own thread that checks each chunk starts where the previous one ended. */
    private static final class Follower {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final CompletableFuture<Void> done = new CompletableFuture<>();

        static Follower start(RundClient client, String job) {
            Follower follower = new Follower();
            Thread.ofPlatform().daemon(true).name("follower-" + job).start(() -> follower.follow(client, job));
            return follower;
        }

        private void follow(RundClient client, String job) {
            try {
                Iterator<LogChunk> chunks = client.logs(request(job).setFollow(true).build());
                while (chunks.hasNext()) {
                    LogChunk chunk = chunks.next();
                    if (chunk.hasData()) {
                        synchronized (bytes) {
                            if (chunk.getData().getOffset() != bytes.size()) {
                                throw new AssertionError("chunk at offset " + chunk.getData().getOffset()
                                        + " after " + bytes.size() + " bytes");
                            }
                            bytes.writeBytes(chunk.getData().getData().toByteArray());
                        }
                    }
                }
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }

        byte[] received() {
            synchronized (bytes) {
                return bytes.toByteArray();
            }
        }

        byte[] all() throws Exception {
            done.get(LogReads.HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
            return received();
        }
    }
}
