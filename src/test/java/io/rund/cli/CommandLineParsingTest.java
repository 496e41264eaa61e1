package io.rund.cli;

import com.google.protobuf.Int64Value;
import com.google.protobuf.StringValue;
import io.rund.proto.v1.IoLimit;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.StartRequest;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How command lines become requests, without a server: picocli parsing plus the LIMITS and job options. */
class CommandLineParsingTest {

    @Test
    void startWithEveryLimit() throws CliException {
        StartRequest request = startRequest("start", "--cpus", "0.5", "--memory-max", "512M", "--pids-max", "64",
                "--io-rbps", "1M", "--io-wbps", "8:0=2M", "--io-riops", "/dev/sda=100", "--io-wiops", "200",
                "-e", "A=1", "--env", "B=x=y", "-C", "/tmp", "--user", "nobody", "--", "sh", "-c", "echo hi");

        assertEquals("sh", request.getCommand());
        assertEquals(List.of("-c", "echo hi"), request.getArgsList());
        assertEquals(Map.of("A", "1", "B", "x=y"), request.getEnvMap());
        assertEquals("/tmp", request.getWorkingDirectory());
        assertEquals("nobody", request.getUser());
        Limits limits = request.getLimits();
        assertEquals(Int64Value.of(50_000), limits.getCpuMaxQuotaMicros());
        assertEquals(Int64Value.of(100_000), limits.getCpuMaxPeriodMicros());
        assertEquals(Int64Value.of(512L << 20), limits.getMemoryMaxBytes());
        assertEquals(Int64Value.of(64), limits.getPidsMax());
        assertFalse(limits.hasMemorySwapMaxBytes(), "a limit not given is not sent");
        assertEquals(List.of(
                IoLimit.newBuilder().setRbps(Int64Value.of(1L << 20)).setWiops(Int64Value.of(200)).build(),
                IoLimit.newBuilder().setDevice(StringValue.of("8:0")).setWbps(Int64Value.of(2L << 20)).build(),
                IoLimit.newBuilder().setDevice(StringValue.of("/dev/sda")).setRiops(Int64Value.of(100)).build()),
                limits.getIoList());
    }

    @Test
    void noLimitsMeansNothingSet() throws CliException {
        StartRequest request = startRequest("start", "true");

        assertEquals(Limits.getDefaultInstance(), request.getLimits());
        assertEquals("", request.getWorkingDirectory());
    }

    @Test
    void everythingAfterTheCommandBelongsToTheJob() throws CliException {
        StartRequest request = startRequest("run", "sh", "-c", "exit 7", "--memory-max", "1G");

        assertEquals("sh", request.getCommand());
        assertEquals(List.of("-c", "exit 7", "--memory-max", "1G"), request.getArgsList());
        assertFalse(request.getLimits().hasMemoryMaxBytes());
    }

    @Test
    void usageErrorsAreOneLineWithExitCode2() {
        for (String[] args : List.of(
                new String[] {"start"},
                new String[] {"status"},
                new String[] {"nosuchcommand"},
                new String[] {},
                new String[] {"start", "--memory-max", "lots", "--", "true"},
                new String[] {"start", "--cpus", "1", "--cpu-max", "5000", "--", "true"},
                new String[] {"status", "--addr", "nohostport", "X"})) {
            Output output = run(args);
            assertEquals(ExitCodes.USAGE, output.exitCode, String.join(" ", args) + ": " + output.err);
            assertEquals(1, output.err.lines().count(), String.join(" ", args) + ": " + output.err);
            assertTrue(output.err.startsWith("rund: "), output.err);
            assertEquals("", output.out);
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : List.of("start", "stop", "status", "logs", "list", "run")) {
            Output output = run(command, "--help");
            assertEquals(ExitCodes.OK, output.exitCode, command);
            assertTrue(output.out.startsWith("Usage: rund " + command), output.out);
        }
        Output top = run("--help");
        assertTrue(top.out.contains("Exit codes:"), top.out);
    }

    @Test
    void unreadableTlsFilesAreAUsageErrorNamingTheFile() {
        Output output = run("status", "--cert", "/nonexistent/client.pem", "X");

        assertEquals(ExitCodes.USAGE, output.exitCode, output.err);
        assertTrue(output.err.startsWith("rund: /nonexistent/client.pem: cannot read"), output.err);
    }

    @Test
    void groupAndGroupsOnStartAndRun() throws CliException {
        StartRequest start = startRequest("start", "--group", "adm", "--groups", "video,4242", "--groups", "users", "--", "id");
        assertEquals("adm", start.getGroup());
        assertEquals(List.of("video", "4242", "users"), start.getGroupsList(), "comma-separated and repeatable, in order");
        StartRequest run = startRequest("run", "--groups", "adm", "id");
        assertEquals("", run.getGroup(), "no --group: the user's own");
        assertEquals(List.of("adm"), run.getGroupsList());
        assertEquals(List.of(), startRequest("start", "true").getGroupsList());
    }

    private static StartRequest startRequest(String... args) throws CliException {
        CommandLine commandLine = RundCli.commandLine(System.out, System.err);
        CommandLine.ParseResult parsed = commandLine.parseArgs(args).subcommand();
        Object command = parsed.commandSpec().userObject();
        return switch (command) {
            case StartCommand start -> start.job.toProto().setLimits(start.limits.toProto()).build();
            case RunCommand run -> run.job.toProto().setLimits(run.limits.toProto()).build();
            default -> throw new AssertionError(command);
        };
    }

    record Output(int exitCode, String out, String err) {}

    static Output run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RundCli.execute(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void rdtLimitsAreSentAsOneValueOrByCacheDomain() throws CliException {
        Limits limits = startRequest("start", "--l3-cache-mask", "ff0", "--memory-bandwidth", "0=20,1=70%", "true").getLimits();
        assertEquals(io.rund.proto.v1.RdtValues.newBuilder().setEveryDomain(com.google.protobuf.UInt64Value.of(0xff0)).build(),
                limits.getL3CacheMask());
        assertEquals(io.rund.proto.v1.RdtValues.newBuilder().putByDomain(0, 20).putByDomain(1, 70).build(),
                limits.getMemoryBandwidthPercent());
        CliException e = org.junit.jupiter.api.Assertions.assertThrows(CliException.class,
                () -> startRequest("start", "--l3-cache-mask", "0=ff,0=f0", "true"));
        assertEquals(ExitCodes.USAGE, e.exitCode());
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("--l3-cache-mask: cache domain 0 is given twice"),
                e.getMessage());
    }
}
