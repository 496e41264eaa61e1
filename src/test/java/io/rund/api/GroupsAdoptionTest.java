package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A job's groups outlive the daemon: after a kill -9 and a new daemon on the same state directory, Status still shows
 * the gid and groups of a job that ran and ended before (from its record) and of one that runs on (adopted), and the
 * adopted process still has them in /proc.
 */
class GroupsAdoptionTest {

    private static final int ADM = 4;
    private static final int NAMELESS = 4242;
    private static final Map<String, String> ALLOW = Map.of("RUND_ALLOWED_GROUPS", "adm," + NAMELESS);

    @Test
    void statusShowsTheGroupsOfEndedAndAdoptedJobsAfterARestart() throws Exception {
        assumeTrue(Files.readAllLines(Path.of("/etc/group")).contains("adm:x:" + ADM + ":"), "this host has no group adm (4)");
        try (AdoptingDaemons daemons = AdoptingDaemons.start(ALLOW)) {
            String running;
            String ended;
            try (RundClient alice = daemons.current().client("alice")) {
                running = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("300").setGroup("adm")
                        .addGroups("" + NAMELESS).build()).getJobId();
                ended = alice.start(StartRequest.newBuilder().setCommand("true").addGroups("adm").build()).getJobId();
                // A job that failed to start keeps no record, so it could not be found after the restart: say so here.
                JobStatus end = LogReads.awaitEnd(alice, ended);
                assertEquals(io.rund.proto.v1.JobState.JOB_STATE_EXITED, end.getState(), "ran and ended: " + end);
            }
            DaemonProcess next = daemons.killAndAdopt();

            try (RundClient alice = next.client("alice")) {
                JobStatus adopted = LogReads.status(alice, running);
                assertEquals(ADM, adopted.getGid().getValue(), adopted.toString());
                assertEquals(List.of(NAMELESS), adopted.getGroupsList());
                List<String> proc = Files.readAllLines(Path.of("/proc", "" + adopted.getPid().getValue(), "status"));
                assertEquals("Groups:\t" + NAMELESS, proc.stream().filter(l -> l.startsWith("Groups:")).findFirst()
                        .orElseThrow().strip());

                JobStatus before = LogReads.status(alice, ended);
                assertEquals(before.getUid().getValue(), before.getGid().getValue(), "a per-job user's own gid: " + before);
                assertEquals(List.of(ADM), before.getGroupsList());
                alice.stop(StopRequest.newBuilder().setJobId(running).build());
            }
        }
    }
}
