package io.rund.cli;

import io.rund.cli.CliCalls.Output;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code rund version} names the client's version and the commit the build was made from (this checkout's HEAD). */
class VersionCommandTest {

    @Test
    void versionNamesTheCommitTheBuildWasMadeFrom() throws Exception {
        Process git = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
        String head = new String(git.getInputStream().readAllBytes()).strip();
        org.junit.jupiter.api.Assumptions.assumeTrue(git.waitFor() == 0, "not a git checkout: " + head);

        Output version = CliCalls.runAsIs("version");
        assertEquals(0, version.exitCode(), version.errText());
        String line = version.outText().lines().findFirst().orElseThrow();
        assertTrue(line.startsWith("client: rund ") && line.contains("commit "), line);
        String commit = line.substring(line.indexOf("commit ") + "commit ".length()).strip().replace("-dirty", "");
        assertTrue(commit.matches("[0-9a-f]{40}"), "a full commit id: " + line);
        // The build wrote it at its last process-resources; a commit made since then (not rebuilt) is newer.
        Process known = new ProcessBuilder("git", "merge-base", "--is-ancestor", commit, head).start();
        assertEquals(0, known.waitFor(), commit + " is HEAD or one of its ancestors");
    }
}
