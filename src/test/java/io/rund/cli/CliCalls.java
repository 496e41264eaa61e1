package io.rund.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the rund CLI inside the test's JVM on captured stdout and stderr, with an identity's connection flags put
 * right after the command (before "--", where start and run stop reading options): the one helper of the CLI's
 * tests against a real daemon.
 */
public final class CliCalls {

    private CliCalls() {}

    /** The command line of a separate JVM running {@code rund ARGS} from the test's classpath, with the daemon's flags. */
    public static List<String> processCommand(List<String> args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), RundCli.class.getName()));
        command.addAll(args);
        return command;
    }

    /** What one command line did: its exit code and the exact bytes it wrote. */
    public record Output(int exitCode, byte[] out, byte[] err) {
        public String outText() {
            return new String(out, StandardCharsets.UTF_8);
        }

        public String errText() {
            return new String(err, StandardCharsets.UTF_8);
        }
    }

    /** {@code args} with {@code connectionFlags} placed after the command name. */
    public static Output run(List<String> connectionFlags, String... args) {
        List<String> line = new ArrayList<>(List.of(args));
        int at = line.indexOf("--") < 0 ? line.size() : line.indexOf("--");
        line.addAll(Math.min(at, 1), connectionFlags);
        return runAsIs(line.toArray(String[]::new));
    }

    /** {@code args} exactly as given. */
    public static Output runAsIs(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RundCli.execute(new PrintStream(out, true), new PrintStream(err, true), args);
        return new Output(code, out.toByteArray(), err.toByteArray());
    }
}
