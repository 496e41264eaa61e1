package io.rund.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Per-job users through the API, with a range of two ids: a third concurrent job is refused RESOURCE_EXHAUSTED
 * until one ends and its id is released; a job naming an allowed account runs as it, outside the range; what a
 * job leaves in /tmp, /var/tmp and /dev/shm is removed when it ends (links removed, never followed); the client's
 * HOME, USER and LOGNAME win over rund's.
 */
class JobUsersTest {

    private static final int FIRST = 70000;
    private static final int LAST = 70001;
    private static final int NOBODY = 65534;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("rund.jobs.identities { first-id = " + FIRST + ", last-id = " + LAST
            + " }\nrund.jobs.allowed-users = [nobody]");

    @Test
    void aThirdJobIsRefusedWhileTwoHoldTheRangeAndRunsOnceOneHasEnded() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String first = LogReads.start(alice, "id -u; exec sleep 1000");
            String second = LogReads.start(alice, "id -u; exec sleep 1000");
            LogReads.until(() -> !stdout(alice, first).isEmpty() && !stdout(alice, second).isEmpty(), "both printed their uid");
            assertEquals(List.of("" + FIRST, "" + LAST),
                    List.of(stdout(alice, first).strip(), stdout(alice, second).strip()).stream().sorted().toList());

            StatusRuntimeException refused = LogReads.failure(() -> LogReads.start(alice, "true"));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
            assertTrue(refused.getStatus().getDescription().startsWith("user: every one of the 2 job identities (ids "
                    + FIRST + "-" + LAST), refused.getStatus().getDescription());

            String named = alice.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c")
                    .addArgs("id -u; echo $HOME $USER $LOGNAME").setUser("nobody").build()).getJobId();
            LogReads.awaitEnd(alice, named);
            assertEquals(NOBODY + "\n/nonexistent nobody nobody\n", stdout(alice, named), "an allowed account needs no id");

            String freed = stdout(alice, first).strip();
            alice.stop(StopRequest.newBuilder().setJobId(first).build());
            String[] third = new String[1];
            LogReads.until(() -> {
                try {
                    third[0] = LogReads.start(alice, "id -u");
                    return true;
                } catch (StatusRuntimeException stillHeld) {
                    return false; // the id is released just after the job's end is published
                }
            }, "a start once the first job's id is released");
            LogReads.awaitEnd(alice, third[0]);
            assertEquals(freed, stdout(alice, third[0]).strip());
            alice.stop(StopRequest.newBuilder().setJobId(second).build());
        }
    }

    @Test
    void whatAJobLeavesInWorldWritableDirectoriesIsRemovedWhenItEnds() throws Exception {
        String tag = "rund-residue-" + UUID.randomUUID();
        List<Path> left = List.of(Path.of("/tmp", tag), Path.of("/var/tmp", tag), Path.of("/dev/shm", tag));
        Path decoy = Files.writeString(Files.createTempFile("rund-decoy-", ""), "root's\n");
        try (RundClient alice = rund.client("alice")) {
            String job = LogReads.start(alice, "mkdir -p /tmp/" + tag + "/a/b && echo x > /tmp/" + tag + "/a/b/f"
                    + " && ln -s " + decoy + " /tmp/" + tag + "/a/link && ln -s " + decoy + " /var/tmp/" + tag
                    + " && echo y > /dev/shm/" + tag + " && echo made");
            LogReads.awaitEnd(alice, job);
            assertEquals("made\n", stdout(alice, job), LogReads.read(alice, LogReads.request(job).build()).text());
            LogReads.until(() -> left.stream().noneMatch(path -> Files.exists(path, LinkOption.NOFOLLOW_LINKS)),
                    "the job's files in /tmp, /var/tmp and /dev/shm removed: " + left);
            assertEquals("root's\n", Files.readString(decoy), "the links' target is untouched");
        } finally {
            Files.deleteIfExists(decoy);
            for (Path path : left) {
                io.rund.TestFiles.deleteTree(path);
            }
        }
    }

    @Test
    void theSystemVIpcObjectsAJobLeavesAreRemovedWhenItEnds() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/ipcmk")), "needs util-linux's ipcmk");
        try (RundClient alice = rund.client("alice")) {
            String job = LogReads.start(alice, "ipcmk -M 4096 && ipcmk -S 1 && ipcmk -Q && id -u");
            LogReads.awaitEnd(alice, job);
            List<String> lines = stdout(alice, job).lines().toList();
            assertEquals(4, lines.size(), LogReads.read(alice, LogReads.request(job).build()).text());
            String uid = lines.getLast();
            LogReads.until(() -> ipcObjectsOf(uid) == 0, "uid " + uid + "'s shared memory, semaphores and queue removed");
        }
    }

    /** How many System V IPC objects uid {@code uid} owns, from /proc/sysvipc. */
    private static long ipcObjectsOf(String uid) {
        long count = 0;
        for (String kind : List.of("shm", "sem", "msg")) {
            try {
                List<String> lines = Files.readAllLines(Path.of("/proc/sysvipc", kind));
                List<String> header = List.of(lines.getFirst().trim().split("\\s+"));
                int column = header.indexOf("uid");
                count += lines.stream().skip(1).filter(line -> line.trim().split("\\s+")[column].equals(uid)).count();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return count;
    }

    @Test
    void theClientsHomeUserAndLognameWin() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String job = alice.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c")
                    .addArgs("echo $HOME $USER $LOGNAME").putEnv("HOME", "/custom").putEnv("USER", "u")
                    .putEnv("LOGNAME", "l").build()).getJobId();
            LogReads.awaitEnd(alice, job);
            assertEquals("/custom u l\n", stdout(alice, job));
        }
    }

    @Test
    void gitAndPythonsGetpassWorkForAUserWithoutAPasswdEntry() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/git")) && Files.isExecutable(Path.of("/usr/bin/python3")),
                "needs /usr/bin/git and /usr/bin/python3");
        try (RundClient alice = rund.client("alice")) {
            String job = LogReads.start(alice, "cd && /usr/bin/python3 -c 'import getpass; print(getpass.getuser())'"
                    + " && git config --global user.name Job && git config --global user.email job@example"
                    + " && git init -q repo && cd repo && echo a > a && git add a && git commit -qm first"
                    + " && git log --format='%an <%ae> %s'");
            int exitCode = LogReads.awaitEnd(alice, job).getExitCode().getValue();
            LogReads.Stream output = LogReads.read(alice, LogReads.request(job).build());
            assertEquals(0, exitCode, output.text());
            List<String> lines = output.text(LogStream.LOG_STREAM_STDOUT).lines().toList();
            assertTrue(lines.getFirst().matches("rund-\\d+"), "getpass.getuser(): " + lines);
            assertEquals("Job <job@example> first", lines.getLast());
        }
    }

    private static String stdout(RundClient client, String job) {
        return LogReads.read(client, LogReads.request(job).build()).text(LogStream.LOG_STREAM_STDOUT);
    }
}
