package io.rund.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.rund.api.ApiFixture;
import io.rund.api.LogReads;
import io.rund.cli.CliCalls.Output;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code rund start -l}, {@code rund list -l/--selector} and the labels in {@code rund status}'s JSON against a real
 * rund; a bad label or selector is a usage error in one line naming it.
 */
class LabelCommandsTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void startLabelsListSelectsAndStatusShows() throws Exception {
        String run = "r" + Long.toHexString(System.nanoTime());
        String web = started(cli("start", "-l", "run=" + run, "-l", "app=web", "--", "true"));
        String db = started(cli("start", "-l", "run=" + run, "--label", "app=db", "--", "true"));
        LogReads.awaitEnd(rund.shared("alice"), web);
        LogReads.awaitEnd(rund.shared("alice"), db);

        Output status = cli("status", "-o", "json", web);
        JsonObject labels = JsonParser.parseString(status.outText()).getAsJsonObject().getAsJsonObject("labels");
        assertEquals("web", labels.get("app").getAsString());
        assertEquals(run, labels.get("run").getAsString());

        assertEquals(web, cli("list", "-o", "name", "-l", "run=" + run, "-l", "app=web").outText().strip());
        assertEquals(db, cli("list", "-o", "name", "-l", "run=" + run, "--selector", "app notin (web)").outText().strip());
        JsonArray both = JsonParser.parseString(cli("list", "--json", "--selector", "run=" + run + ",app").outText()).getAsJsonArray();
        assertEquals(2, both.size());
        assertEquals("", cli("list", "-o", "name", "-l", "run=" + run, "--state", "running").outText().strip());

        Output badLabel = cli("start", "-l", "app", "--", "true");
        assertEquals(ExitCodes.USAGE, badLabel.exitCode(), badLabel.errText());
        Output badKey = cli("start", "-l", "-x=y", "--", "true");
        assertEquals(ExitCodes.USAGE, badKey.exitCode(), badKey.errText());
        Output badSelector = cli("list", "--selector", "app in web");
        assertEquals(ExitCodes.USAGE, badSelector.exitCode(), badSelector.errText());
        assertEquals(1, badSelector.errText().lines().count(), badSelector.errText());
        assertTrue(badSelector.errText().contains("position 7"), badSelector.errText());
    }

    private static String started(Output started) {
        assertEquals(0, started.exitCode(), started.errText());
        return started.outText().strip();
    }

    private static Output cli(String... args) {
        return CliCalls.run(rund.flags("alice"), args);
    }
}
