package io.rund.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The quick parser takes only lines it reads exactly as picocli does, and leaves every other line to picocli. */
class QuickCommandLineTest {

    private static final List<List<String>> QUICK = List.of(
            List.of("status", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            List.of("status", "--addr", "example.org:9", "X"),
            List.of("status", "X", "--addr=example.org:9"),
            List.of("status", "--ca", "a.pem", "--cert", "c.pem", "--key=k.pem", "X"),
            List.of("status", "--", "X"),
            List.of("status", "--addr=", "X"),
            List.of("stop", "X"),
            List.of("stop", "--key", "k.pem", "X", "--cert", "c.pem"),
            List.of("list"),
            List.of("list", "--json"),
            List.of("list", "--addr", "[::1]:8000", "--json"),
            List.of("start", "true"),
            List.of("start", "--", "sh", "-c", "exit 7"),
            List.of("start", "--addr", "h:3", "sleep", "10", "--memory-max", "1G"),
            List.of("start", "sleep", "--", "x"),
            List.of("start", "--", "--addr", "x"));

    private static final List<List<String>> LEFT_TO_PICOCLI = List.of(
            List.of(),
            List.of("--version"),
            List.of("--help"),
            List.of("status"),
            List.of("status", "a", "b"),
            List.of("status", "--help"),
            List.of("status", "-h", "X"),
            List.of("status", "--addr", "h:1", "--addr", "h:2", "X"),
            List.of("status", "--addr"),
            List.of("status", "--addr", "--ca", "X"),
            List.of("status", "--bogus", "X"),
            List.of("status", "@ids.txt"),
            List.of("status", "--ca", "a\0b", "X"),
            List.of("list", "x"),
            List.of("list", "--json=true"),
            List.of("list", "--json", "--json"),
            List.of("start"),
            List.of("start", "--"),
            List.of("start", "--memory-max", "1G", "--", "true"),
            List.of("start", "-e", "A=1", "true"),
            List.of("start", "-C", "/tmp", "true"),
            List.of("logs", "X"),
            List.of("run", "true"),
            List.of("serve"),
            List.of("help", "status"));

    @Test
    void takesTheEverydayLinesAndReadsThemAsPicocliDoes() throws Exception {
        for (List<String> line : QUICK) {
            String[] args = line.toArray(String[]::new);
            Callable<Integer> quick = QuickCommandLine.parse(cli(), args);
            assertNotNull(quick, "quick path for " + line);
            Object picocli = RundCli.commandLine(System.out, System.err).parseArgs(args).subcommand().commandSpec().userObject();
            assertEquals(describe(picocli), describe(quick), String.join(" ", line));
        }
    }

    @Test
    void leavesEverythingElseToPicocli() {
        for (List<String> line : LEFT_TO_PICOCLI) {
            assertNull(QuickCommandLine.parse(cli(), line.toArray(String[]::new)), "picocli's line: " + line);
        }
    }

    @Test
    void aQuickLineFailsLikeAPicocliOne() {
        CommandLineParsingTest.Output unreachable = CommandLineParsingTest.run("status", "--addr", "localhost:1", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assertEquals(ExitCodes.UNAVAILABLE, unreachable.exitCode(), unreachable.err());
        assertEquals("", unreachable.out());
        CommandLineParsingTest.Output badAddress = CommandLineParsingTest.run("status", "--addr", "nohostport", "X");
        assertEquals(ExitCodes.USAGE, badAddress.exitCode());
        assertEquals("rund: --addr: 'nohostport' is not HOST:PORT (for example localhost:8000 or :8000)\n", badAddress.err());
    }

    /** The fields a command runs with, as text. */
    private static String describe(Object command) throws CliException {
        return switch (command) {
            case StatusCommand c -> "status " + c.jobId + " " + connection(c.connection);
            case StopCommand c -> "stop " + c.jobId + " " + connection(c.connection);
            case ListCommand c -> "list json=" + c.json + " " + connection(c.connection);
            case StartCommand c -> "start " + c.job.toProto().setLimits(c.limits.toProto()).build() + " " + connection(c.connection);
            default -> throw new AssertionError(command);
        };
    }

    private static String connection(ConnectionOptions c) {
        return "addr=" + c.address + " ca=" + c.ca + " cert=" + c.cert + " key=" + c.key;
    }

    private static RundCli cli() {
        return new RundCli(new PrintStream(new ByteArrayOutputStream()), new PrintStream(new ByteArrayOutputStream()));
    }

}
