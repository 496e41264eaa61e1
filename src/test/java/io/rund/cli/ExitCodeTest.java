package io.rund.cli;

import com.google.gson.JsonParser;
import io.rund.api.ApiFixture;
import io.rund.api.LogReads;
import io.rund.cli.CliCalls.Output;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.StatusRequest;
import io.rund.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exit codes a script can trust, against a real rund: {@code rund run} and {@code rund logs -f} pass on the job's code,
 * and rund's own failures never look like one of a job's common codes (1-6 used to be both); a reader that closes
 * the CLI's stdout ({@code | head -1}) ends it quietly; connection options work before the command too.
 */
class ExitCodeTest {

    private static final String UNKNOWN_JOB = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    private static final int JOB_CODE = 3;
    private static final long PIPELINE_TIMEOUT_SECONDS = 120;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void aJobExitingThreeAndNoSuchJobGiveDistinctCodes() throws Exception {
        Output run = cli("alice", "run", "--", "sh", "-c", "exit " + JOB_CODE);
        assertEquals(JOB_CODE, run.exitCode(), run.errText());

        Output started = cli("alice", "start", "--", "sh", "-c", "exit " + JOB_CODE);
        String id = started.outText().strip();
        LogReads.awaitEnd(rund.shared("alice"), id);
        Output followed = cli("alice", "logs", "-f", id);
        assertEquals(JOB_CODE, followed.exitCode(), followed.errText());

        Output missing = cli("alice", "logs", "-f", UNKNOWN_JOB);
        assertEquals(ExitCodes.NOT_FOUND, missing.exitCode(), missing.errText());
        assertNotEquals(JOB_CODE, missing.exitCode());
        Output usage = cli("alice", "logs", "-f", "--tail", "-1", id);
        Output unreachable = CliCalls.runAsIs("status", "--addr", "localhost:1", id);
        for (Output own : List.of(missing, usage, unreachable)) {
            assertTrue(own.exitCode() > 6, "rund's own failure outside a job's common range 1-6: " + own.exitCode() + " "
                    + own.errText());
            assertEquals(1, own.errText().lines().count(), own.errText());
        }
        assertEquals(List.of(ExitCodes.NOT_FOUND, ExitCodes.USAGE, ExitCodes.UNAVAILABLE),
                List.of(missing.exitCode(), usage.exitCode(), unreachable.exitCode()), "each kind its own code");
    }

    @Test
    void connectionOptionsMayComeBeforeTheCommand() {
        Output started = cli("alice", "start", "--", "true");
        String id = started.outText().strip();
        List<String> line = new ArrayList<>(rund.flags("alice"));
        line.addAll(List.of("status", id));
        Output status = CliCalls.runAsIs(line.toArray(String[]::new));
        assertEquals(0, status.exitCode(), status.errText());
        assertEquals(id, JsonParser.parseString(status.outText()).getAsJsonObject().get("id").getAsString());

        List<String> mixed = new ArrayList<>(rund.flags("alice").subList(0, 2)); // --addr before, the TLS files after
        mixed.addAll(List.of("status", id));
        mixed.addAll(rund.flags("alice").subList(2, rund.flags("alice").size()));
        assertEquals(0, CliCalls.runAsIs(mixed.toArray(String[]::new)).exitCode());
    }

    @Test
    void aClosedStdoutEndsLogsFollowQuietly() throws Exception {
        String id = cli("alice", "start", "--", "sh", "-c", "i=0; while :; do echo line $i; i=$((i+1)); sleep 0.05; done")
                .outText().strip();
        try {
            Pipeline logs = pipeThroughHeadOne("logs", "-f", id);
            assertEquals("line 0\n", logs.headOutput);
            assertEquals(ExitCodes.OUTPUT_CLOSED, logs.rundExit, "as a tool killed by SIGPIPE: " + logs.rundErr);
            assertEquals("", logs.rundErr, "no error line");
            assertEquals(JobState.JOB_STATE_RUNNING, rund.shared("alice").status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getState(), "logs -f leaves the job alone");
        } finally {
            cli("alice", "stop", id);
        }
        Pipeline run = pipeThroughHeadOne("run", "--", "sh", "-c", "i=0; while :; do echo run $i; i=$((i+1)); sleep 0.05; done");
        assertEquals("run 0\n", run.headOutput);
        assertEquals(ExitCodes.OUTPUT_CLOSED, run.rundExit, run.rundErr);
        assertEquals("", run.rundErr, "no error line");
    }

    private record Pipeline(int rundExit, String rundErr, String headOutput) {}

    /** {@code rund ARGS | head -1} in bash, the CLI a process of its own; the CLI's exit status from PIPESTATUS. */
    private static Pipeline pipeThroughHeadOne(String... args) throws IOException, InterruptedException {
        List<String> line = new ArrayList<>(List.of(args));
        int at = line.indexOf("--") < 0 ? line.size() : line.indexOf("--");
        line.addAll(Math.min(at, 1), rund.flags("alice"));
        List<String> command = CliCalls.processCommand(line);
        Path tmp = Files.createTempDirectory("rund-pipe-");
        try {
            Path err = tmp.resolve("err");
            Path status = tmp.resolve("status");
            String script = "\"$@\" 2>" + quote(err.toString()) + " | head -1; echo \"${PIPESTATUS[0]}\" > " + quote(status.toString());
            List<String> bash = new ArrayList<>(List.of("bash", "-c", script, "bash"));
            bash.addAll(command);
            Process process = new ProcessBuilder(bash).redirectErrorStream(false).start();
            String head = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(process.waitFor(PIPELINE_TIMEOUT_SECONDS, TimeUnit.SECONDS), "the pipeline ended");
            return new Pipeline(Integer.parseInt(Files.readString(status).strip()),
                    Files.readString(err), head);
        } finally {
            TestFiles.deleteTree(tmp);
        }
    }

    private static String quote(String path) {
        return "'" + path.replace("'", "'\\''") + "'";
    }

    private static Output cli(String identity, String... args) {
        return CliCalls.run(rund.flags(identity), args);
    }
}
