package io.rund.cli;

import io.rund.api.ApiFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code rund stats} and {@code rund top} against a real daemon: the JSON a script reads, one line per sample until
 * the job ends, the batch table (no terminal codes into a pipe) listing the caller's running jobs only, and the exit
 * codes of the refused cases.
 */
class StatsCliTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void statsPrintsOneJsonObjectAndOnePerLineWithAnInterval() throws Exception {
        // The job runs as a user of its own: the directory must be searchable by it.
        java.nio.file.Path release = java.nio.file.Files.createTempDirectory("rund-stats-cli-",
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"))).resolve("release");
        // Runs until the test creates the file: a loaded machine cannot make it end before it is sampled.
        String id = start("alice", "sh", "-c", "while [ ! -e " + release + " ]; do sleep 0.1; done");
        CliCalls.Output one = CliCalls.run(rund.flags("alice"), "stats", id);
        assertEquals(ExitCodes.OK, one.exitCode(), one.errText());
        String line = one.outText().strip();
        assertFalse(line.contains("\n"), "one object: " + line);
        assertTrue(line.startsWith("{\"id\":\"" + id + "\",\"state\":\"running\""), line);
        assertTrue(line.contains("\"cpu\":{\"usageMicros\":"), line);

        Thread releaser = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(1500);
                java.nio.file.Files.createFile(release);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        CliCalls.Output stream = CliCalls.run(rund.flags("alice"), "stats", "--interval", "200ms", id);
        releaser.join();
        assertEquals(ExitCodes.OK, stream.exitCode(), "ends with the job: " + stream.errText());
        List<String> lines = stream.outText().lines().toList();
        assertTrue(lines.size() >= 1, "one object per sample: " + stream.outText());
        lines.forEach(sample -> assertTrue(sample.startsWith("{\"id\":\"" + id + "\""), sample));

        java.nio.file.Files.delete(release);
        java.nio.file.Files.delete(release.getParent());
        CliCalls.Output ended = CliCalls.run(rund.flags("alice"), "stats", id);
        assertEquals(ExitCodes.REFUSED, ended.exitCode(), ended.errText());
        assertTrue(ended.errText().contains("EXITED"), ended.errText());
    }

    @Test
    void topPrintsBatchTablesOfTheCallersRunningJobs() {
        String mine = start("alice", "sleep", "100");
        String carols = start("carol", "sleep", "100");
        CliCalls.Output top = CliCalls.run(rund.flags("alice"), "top", "--interval", "200ms", "-n", "2");
        assertEquals(ExitCodes.OK, top.exitCode(), top.errText());
        String text = top.outText();
        assertFalse(text.contains("\033"), "no terminal control codes into a pipe");
        assertEquals(2, text.lines().filter(l -> l.startsWith("rund top - ")).count(), "two tables: " + text);
        assertEquals(2, text.lines().filter(l -> l.startsWith(mine)).count(), text);
        assertFalse(text.contains(carols), "carol's job is not alice's to see");
        String secondRow = text.lines().filter(l -> l.startsWith(mine)).toList().get(1);
        assertFalse(secondRow.split("\\s+")[2].equals("-"), "the second table has a CPU %: " + secondRow);
        CliCalls.run(rund.flags("alice"), "stop", mine);
        CliCalls.run(rund.flags("carol"), "stop", carols);

        CliCalls.Output bad = CliCalls.run(rund.flags("alice"), "top", "--interval", "soon");
        assertEquals(ExitCodes.USAGE, bad.exitCode());
        assertTrue(bad.errText().contains("--interval"), bad.errText());
    }

    private static String start(String who, String... command) {
        String[] line = new String[command.length + 2];
        line[0] = "start";
        line[1] = "--";
        System.arraycopy(command, 0, line, 2, command.length);
        CliCalls.Output started = CliCalls.run(rund.flags(who), line);
        assertEquals(ExitCodes.OK, started.exitCode(), started.errText());
        return started.outText().strip();
    }
}
