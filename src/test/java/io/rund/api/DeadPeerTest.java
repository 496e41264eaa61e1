package io.rund.api;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.rund.cli.RundCli;
import io.rund.cli.RundClient;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A follower whose client stops answering (SIGSTOP: its kernel still acknowledges TCP, its process reads nothing)
 * against a real rund with short HTTP/2 ping settings: its connection is cut and its follower slot freed, whether
 * its job is silent (the server's PING goes unanswered) or writes without pause (the server's writes stall), long
 * before the idle timeout could. With one follower per identity, a second follower of the same identity is
 * refused while the stopped one holds the slot, and admitted once it is cut.
 */
class DeadPeerTest {

    private static final Duration PING_INTERVAL = Duration.ofSeconds(4);
    private static final Duration PING_TIMEOUT = Duration.ofSeconds(2);
    /** Longer than any wait here: a cut must come from the pings and write checks, not from the idle timeout. */
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(120);
    /** Bounds the wait for the cut (documented: ping-interval + 2 x ping-timeout); only a guard against a hang. */
    private static final Duration CUT_GUARD = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final String FOLLOWER = "carol";

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture(String.join("\n",
            "rund.logs.max-followers-per-identity = 1",
            "rund.logs.segment-size = 1 MiB",
            "rund.logs.max-job-bytes = 32 MiB",
            "rund.logs.max-total-bytes = 128 MiB",
            "pekko.http.server.idle-timeout = " + IDLE_TIMEOUT.toSeconds() + "s",
            "pekko.http.server.http2.ping-interval = " + PING_INTERVAL.toSeconds() + "s",
            "pekko.http.server.http2.ping-timeout = " + PING_TIMEOUT.toSeconds() + "s"));
    private static RundClient carol;

    @BeforeAll
    static void connect() {
        carol = rund.shared(FOLLOWER);
    }

    @Test
    void aStoppedFollowerOfASilentJobIsCutAndItsSlotFreed() throws Exception {
        String job = LogReads.start(carol, "echo ready; exec sleep 1000");
        stopFollowerAndAwaitTheCut(job, "ready".length());
    }

    @Test
    void aStoppedFollowerOfAJobThatWritesWithoutPauseIsCutAndItsSlotFreed() throws Exception {
        // About 6 MB/s: the stopped client's HTTP/2 window and both sockets' buffers fill within seconds.
        String job = LogReads.start(carol, "while :; do head -c 65536 /dev/zero | tr '\\\\0' x; sleep 0.01; done");
        stopFollowerAndAwaitTheCut(job, 4 * 1024 * 1024);
    }

    @Test
    void aStoppedFollowerWithAWindowLargerThanTheSocketBuffersIsCutWhenWritesToItStall() throws Exception {
        // Its HTTP/2 window never closes before the sockets' buffers are full: the server's PING cannot even be
        // written, so only the stalled writes show that the peer is gone. Random bytes, which rund sends as they
        // are: compressed output would take as many times longer to fill the buffers as it is smaller.
        String job = LogReads.start(carol, "while :; do head -c 65536 /dev/urandom; sleep 0.01; done");
        List<String> follower = new ArrayList<>(List.of(LargeWindowFollower.class.getName(),
                Integer.toString(rund.port())));
        follower.addAll(rund.flags(FOLLOWER));
        follower.add(job);
        stopFollowerAndAwaitTheCut(job, 4 * 1024 * 1024, follower);
    }

    /** A follower in its own JVM with a 64 MiB HTTP/2 window: args PORT --addr A --ca C --cert C --key K JOB. */
    public static final class LargeWindowFollower {
        private static final int WINDOW = 64 << 20;

        public static void main(String[] args) throws Exception {
            io.rund.auth.TlsFiles tls = new io.rund.auth.TlsFiles(Path.of(args[4]), Path.of(args[6]), Path.of(args[8]));
            try (RundClient client = RundClient.connect(new io.rund.cli.HostPort("localhost", Integer.parseInt(args[0])),
                    tls, new RundClient.Transport(WINDOW, null))) {
                var chunks = client.logs(LogReads.request(args[9]).setFollow(true).build());
                while (chunks.hasNext()) {
                    chunks.next().getData().getData().writeTo(System.out);
                }
            }
        }
    }

    /** Follows {@code job} with the CLI in a child JVM until it has written {@code bytes}, stops it, awaits the cut. */
    private static void stopFollowerAndAwaitTheCut(String job, long bytes) throws Exception {
        List<String> cli = new ArrayList<>(List.of(RundCli.class.getName(), "logs", "-f"));
        cli.addAll(rund.flags(FOLLOWER));
        cli.add(job);
        stopFollowerAndAwaitTheCut(job, bytes, cli);
    }

    /** Runs {@code mainAndArgs} in a child JVM until it has written {@code bytes}, stops it, awaits the cut. */
    private static void stopFollowerAndAwaitTheCut(String job, long bytes, List<String> mainAndArgs) throws Exception {
        Path output = Files.createTempFile("rund-dead-peer-", ".out");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path")));
        command.addAll(mainAndArgs);
        Process follower = new ProcessBuilder(command)
                .redirectOutput(output.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            LogReads.until(() -> size(output) >= bytes, "the CLI follower received " + bytes + " bytes");
            assertEquals(1, rund.log(job).followerCount(), "the CLI is the job's one follower");
            signal("STOP", follower.pid());
            long stoppedAt = System.nanoTime();
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, probe(job),
                    "a second follower of " + FOLLOWER + " while the stopped one holds the only slot");

            Status.Code probe = Status.Code.RESOURCE_EXHAUSTED;
            while (probe == Status.Code.RESOURCE_EXHAUSTED && System.nanoTime() - stoppedAt < CUT_GUARD.toNanos()) {
                Thread.sleep(POLL.toMillis());
                probe = probe(job);
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
            assertEquals(Status.Code.OK, probe, "a new follower of " + FOLLOWER + " is admitted within "
                    + CUT_GUARD.toSeconds() + " s of SIGSTOP (ping interval " + PING_INTERVAL.toSeconds()
                    + " s, timeout " + PING_TIMEOUT.toSeconds() + " s, idle timeout " + IDLE_TIMEOUT.toSeconds() + " s)");
            System.out.printf("stopped follower cut and its slot freed %d ms after SIGSTOP (ping interval %d s,"
                    + " timeout %d s)%n", millis, PING_INTERVAL.toSeconds(), PING_TIMEOUT.toSeconds());
        } finally {
            signal("CONT", follower.pid());
            follower.destroyForcibly();
            follower.waitFor();
            Files.deleteIfExists(output);
            carol.stop(StopRequest.newBuilder().setJobId(job).build());
        }
    }

    /**
     * Opens a follower of {@code job} as {@link #FOLLOWER} and closes it again: OK if it was admitted (its first
     * chunk came), else the status it was refused with.
     */
    private static Status.Code probe(String job) throws Exception {
        ClientCall<LogsRequest, LogChunk> call = carol.newLogsCall(CallOptions.DEFAULT);
        CompletableFuture<Status.Code> outcome = new CompletableFuture<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(LogChunk message) {
                outcome.complete(Status.Code.OK);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                outcome.complete(status.getCode());
            }
        }, new Metadata());
        call.sendMessage(LogReads.request(job).setFollow(true).build());
        call.halfClose();
        call.request(1);
        try {
            return outcome.get(CUT_GUARD.toSeconds(), TimeUnit.SECONDS);
        } finally {
            call.cancel("probe done", null);
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    private static void signal(String signal, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal + " " + pid);
    }
}
