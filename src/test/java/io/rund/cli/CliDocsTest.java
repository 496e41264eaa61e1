package io.rund.cli;

import io.rund.TestFiles;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The completion script and man page the build writes (io.rund.cli.CliDocs): bash completes rund's commands and
 * options from the script, and man renders the page with every command and the exit codes.
 */
class CliDocsTest {

    private static final long SHELL_TIMEOUT_SECONDS = 60;

    @Test
    void bashCompletesCommandsAndOptions() throws Exception {
        Path dir = Files.createTempDirectory("rund-docs-");
        try {
            CliDocs.write(dir);
            Path script = dir.resolve(CliDocs.COMPLETION);
            List<String> commands = complete(script, "rund st");
            assertTrue(commands.containsAll(List.of("start", "status", "stop")), commands.toString());
            List<String> logs = complete(script, "rund logs --fo");
            assertEquals(List.of("--follow"), logs);
        } finally {
            TestFiles.deleteTree(dir);
        }
    }

    @Test
    void manRendersEveryCommandAndTheExitCodes() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/man")), "man is not installed here");
        Path dir = Files.createTempDirectory("rund-docs-");
        try {
            CliDocs.write(dir);
            String page = shell("MANWIDTH=100 man -l " + dir.resolve(CliDocs.MAN_PAGE) + " 2>&1 | col -b");
            for (String heading : List.of("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS")) {
                assertTrue(page.contains(heading), heading + ": " + page);
            }
            for (String command : List.of("serve", "start", "status", "logs", "list", "rm", "run", "stop")) {
                assertTrue(page.contains("Usage: rund " + command), command + ": " + page);
            }
            assertTrue(page.contains(String.valueOf(ExitCodes.NOT_FOUND)) && page.contains("no such job"), page);
            assertTrue(page.contains("--addr"), page);
        } finally {
            TestFiles.deleteTree(dir);
        }
    }

    /** What bash's completion of {@code line} (cursor at its end) offers, through the function the script registers. */
    private static List<String> complete(Path script, String line) throws IOException, InterruptedException {
        String words = line.endsWith(" ") ? line + "''" : line;
        String program = "source '" + script + "'\n"
                + "fn=$(complete -p rund | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')\n"
                + "COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(" + words + ")\n"
                + "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
                + "$fn rund \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\" 2>/dev/null # compopt: only inside a real completion\n"
                + "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        return shell(program).lines().map(String::strip).filter(word -> !word.isEmpty()).toList();
    }

    private static String shell(String program) throws IOException, InterruptedException {
        Process bash = new ProcessBuilder("bash", "-c", program).redirectErrorStream(true).start();
        String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(bash.waitFor(SHELL_TIMEOUT_SECONDS, TimeUnit.SECONDS), "bash ended");
        assertEquals(0, bash.exitValue(), output);
        return output;
    }
}
