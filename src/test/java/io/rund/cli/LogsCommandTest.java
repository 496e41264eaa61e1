package io.rund.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rund.api.ApiFixture;
import io.rund.api.LogReads;
import io.rund.api.TcpRelay;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code rund logs} end to end against a real rund: start points, one stream, timestamps, and {@code -f} that
 * survives connections killed mid-stream (through a TCP relay) with byte-exact output and the job's exit code.
 */
class LogsCommandTest {

    private static final Pattern STAMPED_LINE =
            Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z (.*)");

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();
    private static io.rund.cli.RundClient alice;

    @BeforeAll
    static void connect() {
        alice = rund.shared("alice");
    }

    @Test
    void startPointsStreamsAndTimestamps() throws Exception {
        String job = LogReads.start(alice, "printf 'o1\\no2\\no3\\n'; sleep 0.3; printf 'e1\\ne2\\n' >&2");
        LogReads.awaitEnd(alice, job);

        Output all = logs(rund.flags("alice"), job);
        assertEquals(0, all.exitCode(), all.errText());
        assertEquals("o1\no2\no3\n", all.outText());
        assertEquals("e1\ne2\n", all.errText());

        assertEquals("o3\n", logs(rund.flags("alice"), "--tail", "1", "--stdout", job).outText());
        Output stderrOnly = logs(rund.flags("alice"), "--stderr", job);
        assertEquals("", stderrOnly.outText());
        assertEquals("e1\ne2\n", stderrOnly.errText());
        assertEquals("o1\no2\no3\n", logs(rund.flags("alice"), "--since", "1h", job).outText());
        Output future = logs(rund.flags("alice"), "--since", "2999-01-01T00:00:00Z", job);
        assertEquals(0, future.exitCode(), future.errText());
        assertEquals("", future.outText());

        Output stamped = logs(rund.flags("alice"), "--timestamps", job);
        List<String> lines = stamped.outText().lines().toList();
        assertEquals(3, lines.size(), stamped.outText());
        for (int i = 0; i < lines.size(); i++) {
            var matcher = STAMPED_LINE.matcher(lines.get(i));
            assertTrue(matcher.matches(), lines.get(i));
            assertEquals("o" + (i + 1), matcher.group(2));
        }
    }

    @Test
    void followingResumesAcrossKilledConnectionsAndExitsWithTheJobsCode() throws Exception {
        byte[] expected = LogReads.seq("", 1, 1, 600_000);
        String job = LogReads.start(alice, "seq 1 300000; sleep 1; seq 300001 600000; exit 3");
        try (TcpRelay relay = TcpRelay.start(rund.port())) {
            List<String> flags = new ArrayList<>(rund.flags("alice"));
            flags.set(flags.indexOf("--addr") + 1, "localhost:" + relay.port());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> RundCli.execute(
                    new PrintStream(out, true), new PrintStream(err, true), args(flags, "-f", job)));
            for (long severAt : new long[] {256 * 1024, 1024 * 1024, 3 * 1024 * 1024}) {
                LogReads.until(() -> out.size() >= severAt || exit.isDone(), "output reaches " + severAt);
                relay.severAll();
            }
            int code = exit.get(LogReads.HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
            assertEquals(3, code, err.toString(StandardCharsets.UTF_8));
            assertTrue(relay.connectionsAccepted() > 1, "it reconnected");
            byte[] got = out.toByteArray();
            assertEquals(expected.length, got.length, "bytes written");
            assertArrayEquals(expected, got, "byte-exact, without a gap or a repeat");
        }
    }

    record Output(int exitCode, byte[] out, byte[] err) {
        String outText() {
            return new String(out, StandardCharsets.UTF_8);
        }

        String errText() {
            return new String(err, StandardCharsets.UTF_8);
        }
    }

    private static Output logs(List<String> flags, String... rest) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RundCli.execute(new PrintStream(out, true), new PrintStream(err, true), args(flags, rest));
        return new Output(code, out.toByteArray(), err.toByteArray());
    }

    private static String[] args(List<String> flags, String... rest) {
        List<String> all = new ArrayList<>(List.of("logs"));
        all.addAll(flags);
        all.addAll(Arrays.asList(rest));
        return all.toArray(String[]::new);
    }
}
