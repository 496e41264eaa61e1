package io.rund.api;

import io.rund.TestFiles;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tenants' jobs are separated on the host, tried from a job as an attacker would: carol's job cannot read alice's
 * job's environment, ptrace it, signal it or enter its home, because each job runs as a user of its own; and no
 * job can read rund's state directory, its logs, the server's private key or the daemon's configuration file.
 */
class JobSeparationTest {

    /** A private key and a configuration file as an operator keeps them: mode 0600, owned by root. */
    private static final Path SECRETS = secrets();
    private static final Path KEY = SECRETS.resolve("server-key.pem");
    private static final Path CONFIG = SECRETS.resolve("rund.conf");
    private static final Path PERL = Path.of("/usr/bin/perl");
    private static final String SECRET = "alice-secret-7f3a9c";
    private static final int EPERM = 1;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("include file(\"" + CONFIG + "\")");

    @AfterAll
    static void removeSecrets() throws IOException {
        TestFiles.deleteTree(SECRETS);
    }

    @Test
    void anotherTenantsJobCannotReadTheEnvironmentPtraceOrSignalAJob() throws Exception {
        assumeTrue(Files.isExecutable(PERL), "needs " + PERL + " to call ptrace(2) from a job");
        try (RundClient alice = rund.client("alice"); RundClient carol = rund.client("carol")) {
            String victim = alice.start(StartRequest.newBuilder().setCommand("sh")
                    .addArgs("-c").addArgs("id -u; echo $HOME; exec sleep 1000").putEnv("SECRET", SECRET).build()).getJobId();
            LogReads.until(() -> stdout(alice, victim).lines().count() == 2, "alice's job printed its uid and home");
            List<String> victimSays = stdout(alice, victim).lines().toList();
            int pid = status(alice, victim).getPid().getValue();
            assertEquals(victimSays.get(0), "" + status(alice, victim).getUid().getValue(), "the status names the job's uid");

            String attack = """
                    id -u
                    if cat /proc/$P/environ; then echo environ=read; else echo environ=denied; fi
                    perl -e 'my $p = $ARGV[0] + 0; if (syscall(101, 16, $p, 0, 0) == 0) { print "ptrace=attached\\n"; syscall(101, 17, $p, 0, 0) } else { print "ptrace=", $!+0, "\\n" }' $P
                    if kill -STOP $P; then echo kill=sent; kill -CONT $P; else echo kill=denied; fi
                    if ls "$VICTIM_HOME"; then echo home=listed; else echo home=denied; fi
                    """;
            String attacker = carol.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs(attack)
                    .putEnv("P", Integer.toString(pid)).putEnv("VICTIM_HOME", victimSays.get(1)).build()).getJobId();
            assertEquals(0, LogReads.awaitEnd(carol, attacker).getExitCode().getValue());
            LogReads.Stream output = LogReads.read(carol, LogReads.request(attacker).build());
            List<String> lines = output.text(LogStream.LOG_STREAM_STDOUT).lines().toList();

            assertFalse(output.text().contains(SECRET), "carol's job read alice's secret: " + output.text());
            assertEquals(List.of("environ=denied", "ptrace=" + EPERM, "kill=denied", "home=denied"),
                    lines.subList(1, lines.size()), "stderr: " + output.text(LogStream.LOG_STREAM_STDERR));
            assertTrue(output.text(LogStream.LOG_STREAM_STDERR).contains("Permission denied"),
                    output.text(LogStream.LOG_STREAM_STDERR));
            assertNotEquals(victimSays.get(0), lines.get(0), "the two tenants' jobs ran as the same uid");

            assertEquals(JobState.JOB_STATE_RUNNING, status(alice, victim).getState());
            assertEquals("S", processState(pid), "alice's job must run on, neither stopped nor traced");
            alice.stop(StopRequest.newBuilder().setJobId(victim).build());
        }
    }

    @Test
    void aJobCannotReadRundsStateLogsKeyOrConfiguration() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String earlier = LogReads.start(alice, "echo earlier output");
            LogReads.awaitEnd(alice, earlier);
            Path state = rund.stateDirectory();
            Path log = state.resolve("logs").resolve(earlier + ".log");
            assertTrue(Files.isRegularFile(log), "the daemon keeps the earlier job's log at " + log);
            Map<String, Path> targets = Map.of("state", state, "logs", state.resolve("logs"), "log", log,
                    "key", KEY, "config", CONFIG, "homes", rund.homeRoot());
            StringBuilder probe = new StringBuilder();
            targets.forEach((name, path) -> probe.append("if ").append(Files.isDirectory(path) ? "ls" : "cat")
                    .append(" '").append(path).append("' >/dev/null; then echo ").append(name).append("=read; else echo ")
                    .append(name).append("=denied; fi\n"));
            String job = LogReads.start(alice, probe.toString());
            LogReads.awaitEnd(alice, job);
            LogReads.Stream output = LogReads.read(alice, LogReads.request(job).build());

            assertEquals(targets.keySet().stream().sorted().map(name -> name + "=denied").toList(),
                    output.text(LogStream.LOG_STREAM_STDOUT).lines().sorted().toList(),
                    "stderr: " + output.text(LogStream.LOG_STREAM_STDERR));
        }
    }

    @Test
    void aJobsHomeIsPrivateAndGoneWhenItEnds() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String job = LogReads.start(alice, "echo $HOME; stat -c '%u %a' $HOME; id -u; echo kept > $HOME/file;"
                    + " mkdir -p $HOME/a/b; ln -s /etc/passwd $HOME/a/b/link");
            LogReads.awaitEnd(alice, job);
            List<String> lines = stdout(alice, job).lines().toList();
            Path home = Path.of(lines.get(0));
            assertEquals(rund.homeRoot().resolve(job), home);
            assertEquals(lines.get(2) + " 700", lines.get(1), "the home is the job's own, mode 0700");
            LogReads.until(() -> !Files.exists(home), "the job's home removed after it ended");
            assertTrue(Files.isRegularFile(Path.of("/etc/passwd")), "a symlink in the home is removed, not followed");
            assertEquals("rwx--x--x", PosixFilePermissions.toString(Files.getPosixFilePermissions(rund.homeRoot())));
        }
    }

    private static String stdout(RundClient client, String job) {
        return LogReads.read(client, LogReads.request(job).build()).text(LogStream.LOG_STREAM_STDOUT);
    }

    private static JobStatus status(RundClient client, String job) {
        return client.status(StatusRequest.newBuilder().setJobId(job).build()).getStatus();
    }

    /** The state letter of /proc/PID/stat (after the parenthesised command name). */
    private static String processState(int pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }

    private static Path secrets() {
        try {
            Path dir = Files.createTempDirectory("rund-secrets-");
            // Open to all, so that only the files' own mode keeps a job out.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.copy(ExampleCertificates.server().key(), dir.resolve("server-key.pem"), StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(dir.resolve("rund.conf"), "rund.logs.max-followers-per-job = 9999\n");
            for (Path file : List.of(dir.resolve("server-key.pem"), dir.resolve("rund.conf"))) {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
