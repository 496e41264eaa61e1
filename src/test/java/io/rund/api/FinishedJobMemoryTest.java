package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A finished job costs the daemon a small summary, not its spec: a real {@code rund serve} with a 96 MiB heap keeps
 * far more finished jobs started with ~1 MiB of arguments than its heap could hold (their arguments stay in their
 * records on disk), and every one stays listable, its Status and List show its arguments whole, its log reads, and
 * rm removes it. Before, each such job held its arguments in memory for as long as it was kept (a -Xmx256m daemon died
 * after 240 of them), and the byte budgets that bound that memory forgot all but the last few.
 */
class FinishedJobMemoryTest {

    private static final String HEAP = "-Xmx96m";
    /** 200 jobs x 960 KiB of arguments: about 190 MiB, twice the daemon's whole heap. */
    private static final int JOBS = 200;
    private static final int ARGS = 15;
    private static final int ARG_BYTES = 64 * 1024;

    @Test
    void farMoreFinishedJobsWithBigArgumentsThanTheHeapHoldsStayListableWithTheirArguments() throws Exception {
        // Byte budgets above what the running jobs take at once (a few 1 MiB jobs; "auto" is 3 MiB per identity at
        // 96 MiB of heap, and a Start past it forgets every finished job): what is kept of finished jobs is tested here.
        Map<String, String> budgets = Map.of("RUND_TENANT_MAX_RETAINED_BYTES", "64M",
                "RUND_TENANT_MAX_RETAINED_BYTES_PER_IDENTITY", "64M");
        try (DaemonProcess daemon = DaemonProcess.start(budgets, HEAP);
             RundClient alice = daemon.client("alice")) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < JOBS; i++) {
                ids.add(alice.start(StartRequest.newBuilder().setCommand("/bin/true").addAllArgs(argsOf(i)).build()).getJobId());
            }
            awaitNoneRunning(alice);

            List<JobStatus> listed = listAll(alice);
            assertEquals(ids, listed.stream().map(JobStatus::getId).toList(), "every finished job is still listed, in order");
            for (int i = 0; i < JOBS; i++) {
                JobStatus status = listed.get(i);
                assertEquals(JobState.JOB_STATE_EXITED, status.getState(), status.getId());
                assertEquals(0, status.getExitCode().getValue(), status.getId());
                assertEquals(argsOf(i), status.getArgsList(), "List shows job " + i + "'s arguments whole");
            }
            for (int i : new int[] {0, JOBS / 2, JOBS - 1}) {
                JobStatus status = alice.status(StatusRequest.newBuilder().setJobId(ids.get(i)).build()).getStatus();
                assertEquals(argsOf(i), status.getArgsList(), "Status shows job " + i + "'s arguments whole");
            }
            LogReads.Stream log = LogReads.read(alice, LogReads.request(ids.getFirst()).build());
            assertEquals(0, log.bytes(LogStream.LOG_STREAM_STDOUT).length, "the oldest job's log reads (empty: /bin/true)");

            alice.delete(DeleteRequest.newBuilder().setJobId(ids.getFirst()).build());
            assertEquals(JOBS - 1, listAll(alice).size(), "rm removes a finished job whose arguments are on disk");

            assertTrue(daemon.isAlive(), "the daemon runs on");
            assertFalse(daemon.logLines().stream().anyMatch(line -> line.contains("OutOfMemoryError")),
                    "the daemon ran out of heap");
        }
    }

    /** Job {@code i}'s arguments: 15 of 64 KiB, different for each job so that a mix-up shows. */
    private static List<String> argsOf(int i) {
        List<String> args = new ArrayList<>(ARGS);
        for (int a = 0; a < ARGS; a++) {
            String head = i + ":" + a + ":";
            args.add(head + Character.toString('a' + a).repeat(ARG_BYTES - head.length()));
        }
        return args;
    }

    private static void awaitNoneRunning(RundClient client) throws InterruptedException {
        ListRequest live = ListRequest.newBuilder().addStates(JobState.JOB_STATE_STARTING)
                .addStates(JobState.JOB_STATE_RUNNING).addStates(JobState.JOB_STATE_STOPPING).build();
        LogReads.until(() -> {
            ListResponse page = client.list(live);
            return page.getJobsCount() == 0 && page.getNextPageToken().isEmpty();
        }, "every job has ended");
    }

    private static List<JobStatus> listAll(RundClient client) {
        List<JobStatus> all = new ArrayList<>();
        String token = "";
        do {
            ListResponse page = client.list(ListRequest.newBuilder().setPageToken(token).build());
            all.addAll(page.getJobsList());
            token = page.getNextPageToken();
        } while (!token.isEmpty());
        return all;
    }
}
