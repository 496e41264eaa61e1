package io.rund.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.rund.api.ApiFixture;
import io.rund.cli.CliCalls.Output;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code rund start --group G --groups G1,G2} against a real rund: the job runs with them, {@code rund status} shows
 * them (JSON {@code gid} and {@code groups}, the text view's GID and Groups lines); a refused group exits 123 with one
 * line naming it, an unknown one 119.
 */
class GroupCommandsTest {

    private static final int ADM = 4;
    private static final int NAMELESS = 4242;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("rund.jobs.allowed-groups = [adm, \"" + NAMELESS + "\"]");

    @Test
    void startWithGroupsRunsWithThemAndStatusShowsThem() throws Exception {
        assumeTrue(Files.readAllLines(Path.of("/etc/group")).contains("adm:x:" + ADM + ":"), "this host has no group adm (4)");
        Output started = cli("start", "--group", "adm", "--groups", NAMELESS + ",adm", "--", "sleep", "1000");
        assertEquals(0, started.exitCode(), started.errText());
        String id = started.outText().strip();
        try {
            JsonObject status = JsonParser.parseString(cli("status", "-o", "json", id).outText()).getAsJsonObject();
            assertEquals(ADM, status.get("gid").getAsInt());
            JsonArray groups = status.getAsJsonArray("groups");
            assertEquals(List.of(NAMELESS, ADM), groups.asList().stream().map(g -> g.getAsInt()).toList());
            String procGroups = Files.readAllLines(Path.of("/proc", status.get("pid").getAsString(), "status")).stream()
                    .filter(line -> line.startsWith("Groups:")).findFirst().orElseThrow();
            assertEquals("Groups:\t" + ADM + " " + NAMELESS, procGroups.strip(), "the kernel keeps them sorted");

            List<String> text = cli("status", "-o", "wide", id).outText().lines().toList();
            assertTrue(text.stream().anyMatch(line -> line.matches("GID:\\s+" + ADM)), String.join("\n", text));
            assertTrue(text.stream().anyMatch(line -> line.matches("Groups:\\s+" + NAMELESS + " " + ADM)), String.join("\n", text));
        } finally {
            cli("stop", id);
        }

        Output refused = cli("start", "--groups", "users", "--", "true");
        assertEquals(ExitCodes.REFUSED, refused.exitCode(), refused.errText());
        assertEquals(1, refused.errText().lines().count(), refused.errText());
        assertTrue(refused.errText().contains("users") && refused.errText().contains("rund.jobs.allowed-groups"),
                refused.errText());
        Output unknown = cli("start", "--group", "no-such-group-rund", "--", "true");
        assertEquals(ExitCodes.USAGE, unknown.exitCode(), unknown.errText());
    }

    private static Output cli(String... args) {
        return CliCalls.run(rund.flags("alice"), args);
    }
}
