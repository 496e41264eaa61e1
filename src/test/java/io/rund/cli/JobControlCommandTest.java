package io.rund.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.rund.api.ApiFixture;
import io.rund.cli.CliCalls.Output;
import io.rund.linux.Signals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code rund kill}, {@code pause}, {@code resume}, {@code stop --grace/--force} and {@code start --timeout} against a
 * real rund: each prints the status JSON (frozen state, time frozen, deadline), refusals exit with the CLI's codes and
 * one line; and the duration and signal spellings the CLI and the API accept.
 */
class JobControlCommandTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void killPauseResumeAndStopPrintTheStatusAndRefusalsExitWithTheirCodes() {
        Output started = cli("start", "--timeout", "1h30m", "--", "sleep", "600");
        assertEquals(ExitCodes.OK, started.exitCode(), started.errText());
        String id = started.outText().strip();

        JsonObject paused = json(cli("pause", id));
        assertEquals("frozen", paused.get("state").getAsString());
        JsonObject status = json(cli("status", "-o", "json", id));
        assertEquals("frozen", status.get("state").getAsString(), status.toString());
        Instant created = Instant.parse(status.get("createdAt").getAsString());
        assertEquals(created.plus(Duration.ofMinutes(90)), Instant.parse(status.get("deadline").getAsString()));

        Output again = cli("pause", id);
        assertEquals(ExitCodes.REFUSED, again.exitCode(), again.errText());
        assertEquals(1, again.errText().lines().count(), again.errText());
        assertTrue(again.errText().contains("is FROZEN already"), again.errText());

        JsonObject resumed = json(cli("resume", id));
        assertEquals("running", resumed.get("state").getAsString());
        assertTrue(resumed.get("frozenForMillis").getAsLong() > 0, resumed.toString());

        assertEquals("running", json(cli("kill", "-s", "CONT", id)).get("state").getAsString());
        Output bogus = cli("kill", "-s", "BOGUS", id);
        assertEquals(ExitCodes.USAGE, bogus.exitCode(), bogus.errText());
        assertTrue(bogus.errText().contains("'BOGUS' is not a signal"), bogus.errText());

        JsonObject stopped = json(cli("stop", "--grace", "500ms", id));
        assertEquals("exited", stopped.get("state").getAsString());
        assertEquals("SIGTERM", stopped.get("signalName").getAsString());
        assertFalse(stopped.get("endedByDeadline").getAsBoolean());

        Output ended = cli("resume", id);
        assertEquals(ExitCodes.REFUSED, ended.exitCode(), ended.errText());
        assertTrue(ended.errText().contains("is EXITED: it has ended"), ended.errText());
    }

    @Test
    void badDurationsAndFlagsAreUsageErrors() {
        Output badTimeout = cli("start", "--timeout", "2x", "--", "true");
        assertEquals(ExitCodes.USAGE, badTimeout.exitCode());
        assertTrue(badTimeout.errText().contains("--timeout: \"2x\" is not a duration"), badTimeout.errText());
        Output both = cli("stop", "--grace", "1s", "--force", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assertEquals(ExitCodes.USAGE, both.exitCode());
        assertTrue(both.errText().contains("--grace and --force exclude each other"), both.errText());
    }

    @Test
    void durationsAreWrittenAsGoAndSystemdWriteThem() throws CliException {
        assertEquals(Duration.ofSeconds(2), DurationText.parse("--t", "2s"));
        assertEquals(Duration.ofMillis(500), DurationText.parse("--t", "500ms"));
        assertEquals(Duration.ofSeconds(90), DurationText.parse("--t", "1m30s"));
        assertEquals(Duration.ofHours(1).plusMillis(5), DurationText.parse("--t", "1h5ms"));
        assertEquals(Duration.ZERO, DurationText.parse("--t", "0s"));
        for (String bad : new String[] {"", "2", "s", "1.5s", "-1s", "2 s", "1d"}) {
            assertThrows(CliException.class, () -> DurationText.parse("--t", bad), bad);
        }
        assertEquals("1m30s", DurationText.format(Duration.ofSeconds(90)));
        assertEquals("500ms", DurationText.format(Duration.ofMillis(500)));
    }

    @Test
    void signalsAreNamedWithOrWithoutSigInAnyCaseOrNumbered() {
        assertEquals(1, Signals.parse("HUP").getAsInt());
        assertEquals(1, Signals.parse("sighup").getAsInt());
        assertEquals(10, Signals.parse("SIGUSR1").getAsInt());
        assertEquals(9, Signals.parse("9").getAsInt());
        assertEquals(34, Signals.parse("RTMIN").getAsInt());
        assertEquals(36, Signals.parse("SIGRTMIN+2").getAsInt());
        assertEquals(63, Signals.parse("RTMAX-1").getAsInt());
        assertEquals(64, Signals.parse("64").getAsInt());
        for (String bad : new String[] {"", "0", "65", "32", "FOO", "SIG", "RTMIN-1", "RTMAX+1", "RTMIN+31", "999"}) {
            assertTrue(Signals.parse(bad).isEmpty(), bad);
        }
    }

    private static JsonObject json(Output output) {
        assertEquals(ExitCodes.OK, output.exitCode(), output.errText());
        return JsonParser.parseString(output.outText()).getAsJsonObject();
    }

    private static Output cli(String... args) {
        return CliCalls.run(rund.flags("alice"), args);
    }
}
