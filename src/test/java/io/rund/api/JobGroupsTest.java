package io.rund.api;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A job's primary and supplementary groups through the API, read back from the kernel (/proc/PID/status of the
 * running job): without --group/--groups a job has what it had before (a per-job user its own gid and no
 * supplementary group, a named account its passwd group and /etc/group memberships); what is asked for and allowed is
 * exactly what the process gets, and Status says it; a group that is neither the user's own nor listed in
 * rund.jobs.allowed-groups is refused naming it and the setting, an unknown name is INVALID_ARGUMENT, more than
 * rund.jobs.max-groups too. Uses the groups Debian always has: adm (4), users (100), nogroup (65534), and gid 4242,
 * which no group names.
 */
class JobGroupsTest {

    private static final int FIRST = 70100;
    private static final int LAST = 70109;
    private static final int ADM = 4;
    private static final int USERS = 100;
    private static final int NAMELESS = 4242;
    private static final int NOGROUP = 65534;
    private static final int MAX_GROUPS = 3;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("rund.jobs.identities { first-id = " + FIRST + ", last-id = " + LAST
            + " }\nrund.jobs.allowed-users = [nobody]\nrund.jobs.allowed-groups = [adm, \"" + NAMELESS + "\"]"
            + "\nrund.jobs.max-groups = " + MAX_GROUPS);

    @BeforeAll
    static void hostHasTheGroups() throws IOException {
        List<String> group = Files.readAllLines(Path.of("/etc/group"));
        assumeTrue(group.contains("adm:x:" + ADM + ":") && group.stream().anyMatch(line -> line.startsWith("users:x:" + USERS + ":"))
                        && group.stream().anyMatch(line -> line.startsWith("nogroup:x:" + NOGROUP + ":"))
                        && group.stream().noneMatch(line -> line.split(":", -1).length > 2
                                && line.split(":", -1)[2].equals("" + NAMELESS)),
                "this host's /etc/group lacks adm (4) without members, users (100) or nogroup (65534), or names gid "
                        + NAMELESS);
    }

    @Test
    void withoutGroupsAJobHasItsUsersOwnAsBefore() throws Exception {
        RundClient alice = rund.shared("alice");
        JobStatus own = startSleep(alice, StartRequest.newBuilder());
        try {
            int uid = own.getUid().getValue();
            assertTrue(uid >= FIRST && uid <= LAST, "a per-job user: " + uid);
            assertEquals(new Kernel(uid, List.of()), Kernel.of(own.getPid().getValue()), "its own gid, no supplementary group");
            assertEquals(uid, own.getGid().getValue());
            assertEquals(List.of(), own.getGroupsList());
        } finally {
            stop(alice, own);
        }
        JobStatus nobody = startSleep(alice, StartRequest.newBuilder().setUser("nobody"));
        try {
            assertEquals(new Kernel(NOGROUP, List.of(NOGROUP)), Kernel.of(nobody.getPid().getValue()),
                    "the account's passwd group, and its /etc/group list as initgroups makes it");
            assertEquals(NOGROUP, nobody.getGid().getValue());
            assertEquals(List.of(NOGROUP), nobody.getGroupsList());
        } finally {
            stop(alice, nobody);
        }
    }

    @Test
    void allowedGroupsAreExactlyWhatTheJobGetsAndStatusSaysThem() throws Exception {
        RundClient alice = rund.shared("alice");
        JobStatus both = startSleep(alice, StartRequest.newBuilder().setGroup("adm").addGroups("" + NAMELESS).addGroups("adm"));
        try {
            assertEquals(new Kernel(ADM, List.of(ADM, NAMELESS)), Kernel.of(both.getPid().getValue()));
            assertEquals(ADM, both.getGid().getValue());
            assertEquals(List.of(NAMELESS, ADM), both.getGroupsList(), "in the order asked, once each");
            JobStatus later = alice.status(StatusRequest.newBuilder().setJobId(both.getId()).build()).getStatus();
            assertEquals(ADM, later.getGid().getValue());
            assertEquals(List.of(NAMELESS, ADM), later.getGroupsList());
        } finally {
            stop(alice, both);
        }
        JobStatus supplementaryOnly = startSleep(alice, StartRequest.newBuilder().addGroups("adm"));
        try {
            int uid = supplementaryOnly.getUid().getValue();
            assertEquals(new Kernel(uid, List.of(ADM)), Kernel.of(supplementaryOnly.getPid().getValue()),
                    "a per-job user keeps its own gid as primary unless --group names another");
        } finally {
            stop(alice, supplementaryOnly);
        }
        JobStatus accountOwn = startSleep(alice, StartRequest.newBuilder().setUser("nobody").setGroup("nogroup")
                .addGroups("" + NAMELESS));
        try {
            assertEquals(new Kernel(NOGROUP, List.of(NAMELESS)), Kernel.of(accountOwn.getPid().getValue()),
                    "an account's own group needs no listing; --groups replaces its memberships");
        } finally {
            stop(alice, accountOwn);
        }
    }

    @Test
    void aGroupNeitherOwnNorAllowedIsRefusedNamingItAndTheSetting() {
        RundClient alice = rund.shared("alice");
        for (StartRequest.Builder request : List.of(StartRequest.newBuilder().setGroup("users"),
                StartRequest.newBuilder().addGroups("adm").addGroups("users"),
                StartRequest.newBuilder().setUser("nobody").setGroup("" + USERS))) {
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> alice.start(request.setCommand("true").build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode(), refused.toString());
            assertEquals("PERMISSION_DENIED", info(refused).getReason());
            String message = refused.getStatus().getDescription();
            assertTrue(message.contains("gid " + USERS), message);
            assertTrue(message.contains("rund.jobs.allowed-groups"), message);
        }
        StatusRuntimeException rootGroup = assertThrows(StatusRuntimeException.class,
                () -> alice.start(StartRequest.newBuilder().setCommand("true").setGroup("0").build()));
        assertEquals("PERMISSION_DENIED", info(rootGroup).getReason(), "root's group is nobody's own here");
    }

    @Test
    void anUnknownGroupNameOrTooManyGroupsAreInvalidArguments() {
        RundClient alice = rund.shared("alice");
        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class,
                () -> alice.start(StartRequest.newBuilder().setCommand("true").addGroups("no-such-group-rund").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, unknown.getStatus().getCode());
        assertEquals("GROUP_NOT_FOUND", info(unknown).getReason());
        assertEquals("groups", info(unknown).getMetadataOrThrow("field"));
        assertTrue(unknown.getStatus().getDescription().contains("no-such-group-rund"), unknown.toString());

        StatusRuntimeException tooMany = assertThrows(StatusRuntimeException.class,
                () -> alice.start(StartRequest.newBuilder().setCommand("true")
                        .addAllGroups(List.of("adm", "adm", "adm", "adm")).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, tooMany.getStatus().getCode());
        assertTrue(tooMany.getStatus().getDescription().contains("rund.jobs.max-groups"), tooMany.toString());

        StatusRuntimeException notAName = assertThrows(StatusRuntimeException.class,
                () -> alice.start(StartRequest.newBuilder().setCommand("true").setGroup("adm:x").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, notAName.getStatus().getCode());
        assertEquals("group", info(notAName).getMetadataOrThrow("field"));
    }

    /** The Gid: (real, effective, saved, file system: all one here) and Groups: lines of a process, sorted as the kernel keeps them. */
    private record Kernel(int gid, List<Integer> groups) {
        static Kernel of(int pid) throws IOException {
            List<String> status = Files.readAllLines(Path.of("/proc", "" + pid, "status"));
            String[] gids = line(status, "Gid:").split("\\s+");
            assertEquals(1, Arrays.stream(gids).distinct().count(), "real, effective, saved and fs gid agree: " + Arrays.toString(gids));
            String groups = line(status, "Groups:");
            return new Kernel(Integer.parseInt(gids[0]), groups.isEmpty() ? List.of()
                    : Stream.of(groups.split("\\s+")).map(Integer::parseInt).sorted().toList());
        }

        Kernel {
            groups = groups.stream().sorted().toList();
        }

        private static String line(List<String> status, String name) {
            return status.stream().filter(l -> l.startsWith(name)).findFirst().orElseThrow().substring(name.length()).strip();
        }
    }

    private static JobStatus startSleep(RundClient client, StartRequest.Builder request) {
        JobStatus status = client.start(request.setCommand("sleep").addArgs("1000").build()).getStatus();
        assertTrue(status.hasPid(), "running: " + status);
        return status;
    }

    private static void stop(RundClient client, JobStatus job) {
        client.stop(StopRequest.newBuilder().setJobId(job.getId()).build());
    }

    private static ErrorInfo info(StatusRuntimeException e) {
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        try {
            for (Any any : details.getDetailsList()) {
                if (any.is(ErrorInfo.class)) {
                    return any.unpack(ErrorInfo.class);
                }
            }
        } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
            throw new AssertionError(ex);
        }
        throw new AssertionError("no ErrorInfo in " + details);
    }
}
