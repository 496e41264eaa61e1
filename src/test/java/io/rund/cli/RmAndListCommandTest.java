package io.rund.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.rund.api.ApiFixture;
import io.rund.api.LogReads;
import io.rund.cli.CliCalls.Output;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code rund rm} and {@code rund list} against a real rund whose List pages hold two jobs: rm prints nothing and
 * exits 0 for a finished job (its log file is gone), and with the codes for refused (a running one), not found (an
 * unknown one) and usage (a bad id); list
 * follows the pages to print every job once, as a table or JSON, and filters by state in any case.
 */
class RmAndListCommandTest {

    private static final int PAGE = 2;
    private static final int JOBS = 5;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("rund.jobs.list-page-size = " + PAGE);

    @Test
    void rmDeletesFinishedJobsSilentlyAndSaysWhyItCannotDeleteOthers() throws Exception {
        String finished = startedId(cli("carol", "start", "--", "echo", "done"));
        LogReads.awaitEnd(rund.shared("carol"), finished);
        Path log = rund.stateDirectory().resolve("logs").resolve(finished + ".log");
        assertTrue(Files.exists(log));

        Output removed = cli("carol", "rm", finished);
        assertEquals(ExitCodes.OK, removed.exitCode(), removed.errText());
        assertEquals("", removed.outText(), "rm prints nothing on success");
        assertEquals("", removed.errText());
        assertFalse(Files.exists(log), "the job's log file is gone when rm returns");
        assertEquals(ExitCodes.NOT_FOUND, cli("carol", "status", finished).exitCode());

        String running = startedId(cli("carol", "start", "--", "sleep", "600"));
        try {
            Output refused = cli("carol", "rm", running);
            assertEquals(ExitCodes.REFUSED, refused.exitCode(), refused.errText());
            assertEquals(1, refused.errText().lines().count(), refused.errText());
            assertTrue(refused.errText().contains("is still running") && refused.errText().contains("stop it first"), refused.errText());
        } finally {
            assertEquals(0, cli("carol", "stop", running).exitCode());
        }

        Output unknown = cli("carol", "rm", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assertEquals(ExitCodes.NOT_FOUND, unknown.exitCode(), unknown.errText());
        Output invalid = cli("carol", "rm", "nonsense");
        assertEquals(ExitCodes.USAGE, invalid.exitCode(), invalid.errText());

        Output mixed = cli("carol", "rm", "01ARZ3NDEKTSV4RRFFQ69G5FAV", running);
        assertEquals(ExitCodes.NOT_FOUND, mixed.exitCode(), "the first failure's code: " + mixed.errText());
        assertEquals(1, mixed.errText().lines().count(), "one line per job that could not be deleted: " + mixed.errText());
        assertEquals(ExitCodes.NOT_FOUND, cli("carol", "status", running).exitCode(), "the others are deleted");
        assertEquals(ExitCodes.USAGE, cli("carol", "rm").exitCode(), "rm needs an id");
    }

    @Test
    void listFollowsEveryPageAndFiltersByState() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            ids.add(startedId(cli("bob", "start", "--", "true")));
        }
        for (String id : ids) {
            LogReads.awaitEnd(rund.shared("bob"), id);
        }
        String sleeper = startedId(cli("bob", "start", "--", "sleep", "600"));
        try {
            Output table = cli("bob", "list");
            assertEquals(0, table.exitCode(), table.errText());
            List<String> rows = table.outText().lines().skip(1).map(line -> line.split(" ")[0]).toList();
            assertTrue(rows.containsAll(ids) && rows.contains(sleeper), "every job, over " + (JOBS + 1) / PAGE + " pages: " + table.outText());
            assertEquals(rows.size(), rows.stream().distinct().count(), "each once");

            Output json = cli("bob", "list", "--json");
            assertEquals(0, json.exitCode(), json.errText());
            JsonArray all = JsonParser.parseString(json.outText()).getAsJsonArray();
            assertEquals(rows.size(), all.size());

            for (String word : List.of("running", "RUNNING")) {
                Output running = cli("bob", "list", "--json", "--state", word);
                assertEquals(0, running.exitCode(), running.errText());
                List<String> listed = new ArrayList<>();
                for (JsonElement job : JsonParser.parseString(running.outText()).getAsJsonArray()) {
                    assertEquals("running", job.getAsJsonObject().get("state").getAsString());
                    listed.add(job.getAsJsonObject().get("id").getAsString());
                }
                assertTrue(listed.contains(sleeper) && listed.stream().noneMatch(ids::contains), word + ": " + listed);
            }
            Output exited = cli("bob", "list", "--state", "exited", "--state", "failed-to-start");
            assertTrue(exited.outText().contains(ids.getFirst()) && !exited.outText().contains(sleeper), exited.outText());

            Output wrong = cli("bob", "list", "--state", "sleeping");
            assertEquals(ExitCodes.USAGE, wrong.exitCode());
            assertTrue(wrong.errText().startsWith("rund: --state: 'sleeping' is not a job state"), wrong.errText());
        } finally {
            cli("bob", "stop", sleeper);
        }
    }

    private static String startedId(Output started) {
        assertEquals(0, started.exitCode(), started.errText());
        return started.outText().strip();
    }

    private static Output cli(String identity, String... args) {
        return CliCalls.run(rund.flags(identity), args);
    }
}
