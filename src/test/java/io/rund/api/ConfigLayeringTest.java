package io.rund.api;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.rund.TestFiles;
import io.rund.cli.CliCalls;
import io.rund.cli.CliCalls.Output;
import io.rund.cli.ExitCodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code rund serve}'s configuration as an operator writes it: a file naming one setting is layered over the defaults
 * (the others keep theirs), RUND_* variables override the file, admin SANs and allowed users come from the environment
 * as comma-separated lists, and a bad value fails start with one line naming the key and what is allowed, exit 2.
 */
class ConfigLayeringTest {

    private static final long SERVE_TIMEOUT_SECONDS = 60;
    private static Path work;

    @BeforeAll
    static void createWorkDirectory() throws IOException {
        work = Files.createTempDirectory("rund-config-test-");
    }

    @AfterAll
    static void removeWorkDirectory() throws IOException {
        TestFiles.deleteTree(work);
    }

    @Test
    void aBadValueFailsStartWithOneLineNamingTheKeyAndWhatIsAllowed() throws Exception {
        record Case(String setting, String key, String allowed) {}
        List<Case> cases = List.of(
                new Case("rund.jobs.stop-grace-period = soon", "rund.jobs.stop-grace-period", "a duration"),
                new Case("rund.logs.max-job-bytes = lots", "rund.logs.max-job-bytes", "a size"),
                new Case("rund.jobs.max-active = many", "rund.jobs.max-active", "a number"),
                new Case("rund.jobs.on-daemon-exit = maybe", "rund.jobs.on-daemon-exit", "\"stop\" or \"keep\""),
                new Case("rund.jobs.retension = 1h", "rund.jobs.retension", "no such setting"));
        for (Case bad : cases) {
            Path file = write("bad.conf", "# one bad setting\n" + bad.setting + "\n");
            Served served = serve(Map.of(), "serve", "--config", file.toString());
            assertEquals(ExitCodes.SERVE_USAGE, served.exitCode, bad + ": " + served.output);
            assertEquals(1, served.output.lines().count(), "one line, no stack trace: " + served.output);
            String line = served.output.strip();
            assertTrue(line.startsWith("rund: ") && line.contains(bad.key) && line.contains(bad.allowed), bad + ": " + line);
            assertFalse(line.contains("Exception"), line);
        }
        Served fromEnv = serve(Map.of("RUND_STOP_GRACE", "10 lightyears"), "serve", "--print-config");
        assertEquals(ExitCodes.SERVE_USAGE, fromEnv.exitCode, fromEnv.output);
        assertTrue(fromEnv.output.contains("rund.jobs.stop-grace-period") && fromEnv.output.contains("from the environment"),
                fromEnv.output);
        Served missing = serve(Map.of(), "serve", "--config", work.resolve("absent.conf").toString());
        assertEquals(ExitCodes.SERVE_USAGE, missing.exitCode, missing.output);
        assertTrue(missing.output.contains("absent.conf"), missing.output);
    }

    @Test
    void aFileNamesOnlyWhatItChangesAndTheEnvironmentOverridesIt() throws Exception {
        Path file = write("layer.conf", "rund.jobs.retention = 1h\nrund.jobs.max-retained = 7\n");
        Served printed = serve(Map.of("RUND_JOB_RETENTION", "5h"), "serve", "--config", file.toString(), "--print-config=json");
        assertEquals(0, printed.exitCode, printed.output);
        JsonObject rund = JsonParser.parseString(printed.output).getAsJsonObject();
        JsonObject jobs = rund.getAsJsonObject("jobs");
        assertEquals("5h", jobs.get("retention").getAsString(), "the environment over the file");
        assertEquals(7, jobs.get("max-retained").getAsInt(), "the file over the defaults");
        assertEquals("10s", jobs.get("stop-grace-period").getAsString(), "a default the file does not name");
        assertEquals("127.0.0.1:8000", rund.getAsJsonObject("api").get("address").getAsString());

        Served viaEnv = serve(Map.of("RUND_CONFIG", file.toString()), "serve", "--addr", "127.0.0.1:9", "--print-config");
        assertEquals(0, viaEnv.exitCode, viaEnv.output);
        assertTrue(viaEnv.output.startsWith("rund {"), "HOCON: " + viaEnv.output);
        assertTrue(viaEnv.output.contains("max-retained=7") || viaEnv.output.contains("max-retained = 7")
                || viaEnv.output.contains("\"max-retained\" : 7"), viaEnv.output);
        assertTrue(viaEnv.output.contains("127.0.0.1:9"), "a flag over everything: " + viaEnv.output);
    }

    @Test
    void aDaemonServesWithAOneSettingFileAndListsFromTheEnvironment() throws Exception {
        Path file = write("one.conf", "rund.jobs.allowed-users = [\"nobody\"]\n");
        try (DaemonProcess daemon = DaemonProcess.start(Map.of(
                "RUND_CONFIG", file.toString(),
                "RUND_ADMIN_SANS", "DNS:nobody.example, DNS:admin.example"))) {
            Output started = CliCalls.run(daemon.cliFlags("alice"), "start", "--", "sleep", "600");
            assertEquals(0, started.exitCode(), started.errText());
            String id = started.outText().strip();
            try {
                Output asAdmin = CliCalls.run(daemon.cliFlags("admin"), "status", id);
                assertEquals(0, asAdmin.exitCode(), "the second SAN of RUND_ADMIN_SANS sees every job: " + asAdmin.errText());
                assertEquals(ExitCodes.NOT_FOUND, CliCalls.run(daemon.cliFlags("carol"), "status", id).exitCode());
            } finally {
                CliCalls.run(daemon.cliFlags("alice"), "stop", id);
            }
            Output asNobody = CliCalls.run(daemon.cliFlags("alice"), "run", "--user", "nobody", "--", "id", "-un");
            assertEquals(0, asNobody.exitCode(), "the file's allowed user: " + asNobody.errText());
            assertEquals("nobody\n", asNobody.outText());
            Output asDaemon = CliCalls.run(daemon.cliFlags("alice"), "run", "--user", "daemon", "--", "true");
            assertNotEquals(0, asDaemon.exitCode(), "an account the file does not allow");
        }
    }

    private record Served(int exitCode, String output) {}

    /** {@code rund ARGS} as a process of its own, stdout and stderr together; state and cgroups kept out of the host's. */
    private static Served serve(Map<String, String> env, String... args) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(CliCalls.processCommand(List.of(args))).redirectErrorStream(true);
        builder.environment().put("RUND_STATE_DIR", work.resolve("state").toString());
        builder.environment().put("RUND_CGROUP_ROOT", work.resolve("no-cgroup").toString());
        builder.environment().remove("RUND_CONFIG");
        builder.environment().putAll(env);
        Process process = builder.start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(SERVE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("rund serve did not end: " + new String(output, StandardCharsets.UTF_8));
        }
        return new Served(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    }

    private static Path write(String name, String text) throws IOException {
        return Files.writeString(work.resolve(name), text);
    }
}
