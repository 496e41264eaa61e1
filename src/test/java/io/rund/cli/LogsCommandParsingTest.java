package io.rund.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogsRequest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** How {@code rund logs} command lines become Logs requests, and how --since reads a point in time; no server. */
class LogsCommandParsingTest {

    private static final Instant NOW = Instant.parse("2025-05-01T12:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    @Test
    void plainLogsAsksForEverythingOnceWithoutTimestamps() throws CliException {
        LogsRequest request = request("logs", "JOB");
        assertEquals("JOB", request.getJobId());
        assertFalse(request.getFollow());
        assertEquals(LogsRequest.StartCase.START_NOT_SET, request.getStartCase());
        assertEquals(LogStream.LOG_STREAM_UNSPECIFIED, request.getStream());
        assertFalse(request.getTimestamps());
    }

    @Test
    void everyOptionBecomesItsField() throws CliException {
        LogsRequest request = request("logs", "-f", "--tail", "20", "--timestamps", "--stderr", "JOB");
        assertTrue(request.getFollow());
        assertEquals(20, request.getTailLines());
        assertTrue(request.getTimestamps());
        assertEquals(LogStream.LOG_STREAM_STDERR, request.getStream());
        assertEquals(LogStream.LOG_STREAM_STDOUT, request("logs", "--stdout", "JOB").getStream());
        assertEquals(NOW.minusSeconds(600).getEpochSecond(), request("logs", "--since", "10m", "JOB").getSince().getSeconds());
    }

    @Test
    void sinceTakesAgesAndRfc3339Times() throws CliException {
        assertEquals(NOW.minusSeconds(5400), PointInTime.parse("--since", "1h30m", CLOCK));
        assertEquals(NOW.minusSeconds(2 * 86_400), PointInTime.parse("--since", "2d", CLOCK));
        assertEquals(NOW.minusMillis(1500), PointInTime.parse("--since", "1s500ms", CLOCK));
        assertEquals(Instant.parse("2025-05-01T10:00:00Z"), PointInTime.parse("--since", "2025-05-01T10:00:00Z", CLOCK));
        assertEquals(Instant.parse("2025-05-01T10:00:00.5Z"), PointInTime.parse("--since", "2025-05-01T12:00:00.5+02:00", CLOCK));
        for (String bad : new String[] {"10", "m", "10x", "yesterday", "2025-05-01", "-5m"}) {
            CliException e = assertThrows(CliException.class, () -> PointInTime.parse("--since", bad, CLOCK), bad);
            assertEquals(ExitCodes.USAGE, e.exitCode());
            assertTrue(e.getMessage().startsWith("--since: '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void conflictingOptionsAreUsageErrors() {
        for (String[] args : new String[][] {
                {"logs", "--tail", "3", "--since", "1m", "JOB"},
                {"logs", "--stdout", "--stderr", "JOB"},
                {"logs", "--tail", "-1", "JOB"},
                {"logs", "--since", "soon", "JOB"}}) {
            CommandLineParsingTest.Output output = CommandLineParsingTest.run(args);
            assertEquals(ExitCodes.USAGE, output.exitCode(), String.join(" ", args) + ": " + output.err());
            assertEquals(1, output.err().lines().count(), output.err());
        }
    }

    private static LogsRequest request(String... args) throws CliException {
        CommandLine.ParseResult parsed = RundCli.commandLine(System.out, System.err).parseArgs(args).subcommand();
        return ((LogsCommand) parsed.commandSpec().userObject()).request(CLOCK);
    }
}
