package io.rund.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.rund.api.ApiFixture;
import io.rund.cli.CliCalls.Output;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI contract of DESIGN.md against a real rund on loopback: real TLS, real jobs, byte-exact output. */
class CliEndToEndTest {

    /** Bytes no text decoding would keep: a NUL, a lone 0xFF, a CR, no final newline. */
    private static final byte[] STDOUT = {'o', 'u', 't', '\n', 0, (byte) 0xff, '\r', 'x'};
    private static final String PRINT_STDOUT = "printf 'out\\n\\000\\377\\rx'";
    private static final byte[] STDERR = "err 1\nerr 2\n".getBytes(StandardCharsets.US_ASCII);
    private static final String PRINT_STDERR = "printf 'err 1\\nerr 2\\n' >&2";

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void startStatusLogsStop() {
        Output started = cli("alice", "start", "--", "sh", "-c",
                PRINT_STDOUT + "; " + PRINT_STDERR + "; exec sleep 1000");
        assertEquals(0, started.exitCode(), started.errText());
        String id = started.outText().strip();
        assertTrue(id.matches("[0-9A-HJKMNP-TV-Z]{26}"), "a ULID alone on its line: " + started.outText());
        assertEquals(id + "\n", started.outText());

        JsonObject status = json(cli("alice", "status", id));
        assertEquals(id, status.get("id").getAsString());
        assertEquals("sh", status.get("command").getAsString());

        Output stopped = cli("alice", "stop", id);
        assertEquals(0, stopped.exitCode(), stopped.errText());
        JsonObject end = json(stopped);
        assertEquals("exited", end.get("state").getAsString());
        assertTrue(end.get("stoppedByRequest").getAsBoolean());
        assertEquals(15, end.get("signal").getAsInt(), "stopped by SIGTERM");
        assertTrue(end.get("exitCode").isJsonNull());

        Output logs = cli("alice", "logs", id);
        assertEquals(0, logs.exitCode(), logs.errText());
        assertArrayEquals(STDOUT, logs.out(), "stdout byte for byte, on stdout");
        assertArrayEquals(STDERR, logs.err(), "stderr byte for byte, on stderr");

        Output following = cli("alice", "logs", "-f", id);
        assertArrayEquals(STDOUT, following.out());
        assertArrayEquals(STDERR, following.err());

        Output listed = cli("alice", "list", "--json");
        assertTrue(JsonParser.parseString(listed.outText()).getAsJsonArray().asList().stream()
                .anyMatch(job -> job.getAsJsonObject().get("id").getAsString().equals(id)));
    }

    @Test
    void updateChangesARunningJobsLimitsOrNamesTheMissingController() throws Exception {
        String id = cli("alice", "start", "--", "sleep", "1000").outText().strip();
        try {
            Output updated = cli("alice", "update", "--pids-max", "12", "--memory-high", "64M", id);
            boolean offered = java.util.List.of(java.nio.file.Files.readString(rund.subtree().resolve("cgroup.subtree_control"))
                    .strip().split(" ")).containsAll(java.util.List.of("pids", "memory"));
            if (offered) {
                assertEquals(0, updated.exitCode(), updated.errText());
                JsonObject limits = json(updated).getAsJsonObject("limits");
                assertEquals(12, limits.get("pidsMax").getAsLong());
                assertEquals(64L << 20, limits.get("memoryHighBytes").getAsLong());
                assertTrue(limits.get("memoryMaxBytes").isJsonNull(), "not set: " + limits);
            } else {
                assertEquals(ExitCodes.REFUSED, updated.exitCode(), updated.errText());
                assertTrue(updated.errText().contains("controller") && updated.errText().strip().lines().count() == 1,
                        "one line naming the missing controller: " + updated.errText());
            }
            Output bad = cli("alice", "update", "--clear", "cpu-shares", id);
            assertEquals(ExitCodes.USAGE, bad.exitCode(), bad.errText());
        } finally {
            cli("alice", "stop", id);
        }
    }

    @Test
    void runStreamsTheOutputAndExitsWithTheJobsCode() {
        Output run = cli("alice", "run", "--", "sh", "-c", PRINT_STDOUT + "; " + PRINT_STDERR + "; exit 7");

        assertEquals(7, run.exitCode(), run.errText());
        assertArrayEquals(STDOUT, run.out());
        assertArrayEquals(STDERR, run.err());
    }

    @Test
    void runOfAKilledJobExits128PlusTheSignal() {
        Output run = cli("alice", "run", "--", "sh", "-c", "kill -9 $$");

        assertEquals(137, run.exitCode(), run.errText());
    }

    @Test
    void errorsAreOneLineWithTheirOwnExitCodes() {
        Output notFound = cli("alice", "status", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assertEquals(ExitCodes.NOT_FOUND, notFound.exitCode());
        assertEquals(1, notFound.errText().lines().count(), notFound.errText());

        Output invalid = cli("alice", "start", "--memory-max", "0", "--", "true");
        assertEquals(ExitCodes.USAGE, invalid.exitCode(), invalid.errText());
        assertTrue(invalid.errText().startsWith("rund: memory-max"), invalid.errText());

        Output untrusted = cli("untrusted-client", "list");
        assertEquals(ExitCodes.PERMISSION, untrusted.exitCode(), untrusted.errText());
        assertEquals(1, untrusted.errText().lines().count(), untrusted.errText());

        Output expired = cli("expired", "list");
        assertEquals(ExitCodes.PERMISSION, expired.exitCode(), expired.errText());

        CommandLineParsingTest.Output unreachable = CommandLineParsingTest.run("list", "--addr", "localhost:1");
        assertEquals(ExitCodes.UNAVAILABLE, unreachable.exitCode(), unreachable.err());
    }

    private static Output cli(String identity, String... args) {
        return CliCalls.run(rund.flags(identity), args);
    }

    private static JsonObject json(Output output) {
        assertEquals(0, output.exitCode(), output.errText());
        assertEquals(1, output.outText().lines().count(), "one line: " + output.outText());
        return JsonParser.parseString(output.outText()).getAsJsonObject();
    }
}
