package io.rund.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.rund.api.ApiFixture;
import io.rund.cli.CliCalls.Output;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * -o json|wide|name on start, list and status, status's human view on a terminal, one spelling of states and
 * signals by name, against a real rund on loopback: what a person reads and what a script pipes on.
 */
class CliOutputFormatsTest {

    private static final String ULID = "[0-9A-HJKMNP-TV-Z]{26}";
    private static final long TERMINAL_WAIT_SECONDS = 60;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void listByNameFeedsStopAndTheTableNamesTheSignal() {
        String first = id(cli("carol", "start", "-o", "name", "--", "sleep", "600"));
        String second = id(cli("carol", "start", "--", "sleep", "600"));
        String ended = id(cli("carol", "start", "--", "sh", "-c", "exit 3"));
        awaitEnded(ended);

        Output names = cli("carol", "list", "-o", "name", "--state", "running");
        assertEquals(0, names.exitCode(), names.errText());
        assertEquals(List.of(first, second), names.outText().lines().toList(), "ids only, one per line, no header");

        // rund list -o name --state running | xargs rund stop
        for (String id : names.outText().lines().toList()) {
            assertEquals(0, cli("carol", "stop", id).exitCode());
        }

        Output table = cli("carol", "list");
        assertEquals(0, table.exitCode(), table.errText());
        assertEquals(List.of("ID", "STATE", "EXIT", "COMMAND"), words(table.outText().lines().findFirst().orElseThrow()));
        assertEquals(List.of(first, "exited", "SIGTERM", "sleep", "600"), words(row(table, first)));
        assertEquals(List.of(ended, "exited", "3", "sh", "-c", "exit", "3"), words(row(table, ended)));
        assertFalse(table.outText().contains("143"), "a signal by name, not 128+15: " + table.outText());

        Output wide = cli("carol", "list", "-o", "wide");
        assertEquals(0, wide.exitCode(), wide.errText());
        assertEquals(List.of("ID", "STATE", "EXIT", "PID", "UID", "STARTED", "ENDED", "HOST", "COMMAND"),
                words(wide.outText().lines().findFirst().orElseThrow()));
        List<String> stopped = words(row(wide, second));
        assertEquals(List.of(second, "exited", "SIGTERM"), stopped.subList(0, 3));
        assertTrue(stopped.get(3).matches("[0-9]+") && stopped.get(4).matches("[0-9]+"), "pid and uid: " + stopped);
        assertTrue(stopped.get(5).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ") && stopped.get(6).endsWith("Z"),
                "started and ended in UTC: " + stopped);

        Output json = cli("carol", "list", "-o", "json");
        assertEquals(0, json.exitCode(), json.errText());
        Output oldJson = cli("carol", "list", "--json");
        assertEquals(json.outText(), oldJson.outText(), "--json is -o json");
        JsonObject killed = job(JsonParser.parseString(json.outText()).getAsJsonArray(), first);
        assertEquals("exited", killed.get("state").getAsString());
        assertEquals(15, killed.get("signal").getAsInt());
        assertEquals("SIGTERM", killed.get("signalName").getAsString());
    }

    @Test
    void oneSpellingOfEachStateInTheTableTheHumanViewAndJson() {
        String ended = id(cli("alice", "start", "--", "true"));
        awaitEnded("alice", ended);

        String inJson = JsonParser.parseString(cli("alice", "status", "-o", "json", ended).outText())
                .getAsJsonObject().get("state").getAsString();
        assertEquals("exited", inJson, "the proto's JOB_STATE_EXITED without its prefix, lower case");
        assertEquals(List.of(ended, inJson), words(row(cli("alice", "list"), ended)).subList(0, 2));
        assertTrue(cli("alice", "status", "-o", "wide", ended).outText().lines()
                .anyMatch(line -> words(line).equals(List.of("State:", inJson))));

        Output wrong = cli("alice", "list", "--state", "sleeping");
        assertEquals(ExitCodes.USAGE, wrong.exitCode());
        assertTrue(wrong.errText().contains("starting, running, stopping, exited, failed_to_start"),
                "the states as the CLI prints them: " + wrong.errText());
        for (String word : List.of("failed_to_start", "FAILED_TO_START", "failed-to-start", "Exited")) {
            Output only = cli("alice", "list", "-o", "name", "--state", word);
            assertEquals(0, only.exitCode(), word + ": " + only.errText());
        }
    }

    @Test
    void statusWideIsFieldLinesWithTheSignalNamedAndPipedStatusStaysJson() {
        String id = id(cli("alice", "start", "--", "sleep", "600"));
        assertEquals(0, cli("alice", "stop", id).exitCode());

        Output wide = cli("alice", "status", "-o", "wide", id);
        assertEquals(0, wide.exitCode(), wide.errText());
        List<String> lines = wide.outText().lines().toList();
        assertTrue(lines.contains("ID:            " + id), wide.outText());
        assertTrue(lines.contains("State:         exited"), wide.outText());
        assertTrue(lines.contains("Command:       sleep 600"), wide.outText());
        assertTrue(lines.contains("Signal:        SIGTERM, stopped by request"), wide.outText());
        assertTrue(lines.stream().anyMatch(line -> line.startsWith("CPU:")), "wide shows usage: " + wide.outText());

        Output name = cli("alice", "status", "-o", "name", id);
        assertEquals(id + "\n", name.outText());

        // Not a terminal: the JSON object of DESIGN.md's contract, as before.
        Output piped = cli("alice", "status", id);
        JsonObject status = JsonParser.parseString(piped.outText()).getAsJsonObject();
        assertEquals("SIGTERM", status.get("signalName").getAsString());

        Output both = cli("alice", "status", "--json", "-o", "wide", id);
        assertEquals(ExitCodes.USAGE, both.exitCode());
        assertTrue(both.errText().startsWith("rund: --json and -o wide"), both.errText());
    }

    @Test
    void startPrintsTheNewJobAsJsonOrAWideRow() {
        Output json = cli("alice", "start", "-o", "json", "--", "sleep", "600");
        assertEquals(0, json.exitCode(), json.errText());
        JsonObject started = JsonParser.parseString(json.outText()).getAsJsonObject();
        String id = started.get("id").getAsString();
        try {
            assertTrue(id.matches(ULID), json.outText());
            assertEquals("sleep", started.get("command").getAsString());
            assertTrue(List.of("starting", "running").contains(started.get("state").getAsString()), json.outText());

            Output wide = cli("alice", "start", "-o", "wide", "--", "sleep", "600");
            assertEquals(0, wide.exitCode(), wide.errText());
            List<String> lines = wide.outText().lines().toList();
            assertEquals(2, lines.size(), wide.outText());
            assertEquals("ID", words(lines.get(0)).getFirst());
            String second = words(lines.get(1)).getFirst();
            assertTrue(second.matches(ULID), wide.outText());
            cli("alice", "stop", second);
        } finally {
            cli("alice", "stop", id);
        }
    }

    @Test
    void statusOnATerminalIsTheHumanView() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "needs script(1) (util-linux) for a pseudo-terminal");
        String id = id(cli("alice", "start", "--", "sh", "-c", "exit 4"));
        awaitEnded("alice", id);

        List<String> line = new ArrayList<>(List.of("status", id));
        line.addAll(rund.flags("alice"));
        String command = CliCalls.processCommand(line).stream().map(CliOutputFormatsTest::quoted).collect(Collectors.joining(" "));
        Process terminal = new ProcessBuilder("/usr/bin/script", "-qec", command, "/dev/null")
                .redirectErrorStream(true).start();
        terminal.getOutputStream().close();
        String seen;
        try {
            seen = new String(terminal.getInputStream().readAllBytes(), StandardCharsets.UTF_8).replace("\r", "");
            assertTrue(terminal.waitFor(TERMINAL_WAIT_SECONDS, TimeUnit.SECONDS), "rund status on a terminal ended");
        } finally {
            terminal.destroyForcibly();
        }
        assertEquals(0, terminal.exitValue(), seen);
        List<String> lines = seen.lines().toList();
        assertTrue(lines.contains("ID:            " + id), seen);
        assertTrue(lines.contains("State:         exited"), seen);
        assertTrue(lines.contains("Exit code:     4"), seen);
        assertFalse(seen.contains("{"), "not JSON on a terminal: " + seen);
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("CPU:")), "the short view; -o wide adds usage: " + seen);
    }

    private static String quoted(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    private static void awaitEnded(String id) {
        awaitEnded("carol", id);
    }

    private static void awaitEnded(String identity, String id) {
        for (int attempt = 0; attempt < 600; attempt++) {
            JsonObject status = JsonParser.parseString(cli(identity, "status", "-o", "json", id).outText()).getAsJsonObject();
            if (!status.get("endedAt").isJsonNull()) {
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        throw new AssertionError("job " + id + " did not end within 30 s");
    }

    private static JsonObject job(JsonArray jobs, String id) {
        for (JsonElement job : jobs) {
            if (job.getAsJsonObject().get("id").getAsString().equals(id)) {
                return job.getAsJsonObject();
            }
        }
        throw new AssertionError("no job " + id + " in " + jobs);
    }

    private static String row(Output table, String id) {
        return table.outText().lines().filter(line -> line.startsWith(id + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no row for " + id + ": " + table.outText() + table.errText()));
    }

    private static List<String> words(String line) {
        return List.of(line.strip().split(" +"));
    }

    private static String id(Output started) {
        assertEquals(0, started.exitCode(), started.errText());
        String id = started.outText().strip();
        assertTrue(id.matches(ULID), started.outText());
        return id;
    }

    private static Output cli(String identity, String... args) {
        return CliCalls.run(rund.flags(identity), args);
    }
}
