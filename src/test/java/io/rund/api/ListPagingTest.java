package io.rund.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * List against a real rund, one page at a time: following next_page_token yields every job the caller may see exactly
 * once, in id order; an old client's empty request gets the first page and a token; no reply passes the 4 MiB message
 * limit of the client even when every job carries 1 MiB of arguments; a call examines a bounded number of jobs; the
 * state filter holds.
 */
class ListPagingTest {

    private static final int DEFAULT_PAGE = 5;
    private static final int MAX_PAGE = 10;
    private static final int SCAN_BUDGET = 10;
    /** grpc-java's default maximum inbound message size, the CLI's (RundClient sets none). */
    private static final int CLIENT_MESSAGE_LIMIT = 4 * 1024 * 1024;
    /** Arguments of this many characters: the most one argv string may have (MAX_ARG_STRLEN is 128 KiB)... */
    private static final int BIG_ARG_CHARS = 128_000;
    /** ...eight times: 1,024,000 bytes, just under Start's 1 MiB cap on command, arguments and environment. */
    private static final int BIG_ARGS = 8;
    /** Six such jobs are about 6 MB of statuses: one reply of them all would pass the client's limit. */
    private static final int BIG_JOBS = 6;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture(String.join("\n",
            "rund.jobs.list-page-size = " + DEFAULT_PAGE,
            "rund.jobs.max-list-page-size = " + MAX_PAGE,
            "rund.jobs.list-scan-budget = " + SCAN_BUDGET,
            // Far above what the big-argument jobs keep: only the List bounds are under test here.
            "rund.tenants.max-retained-bytes = 1 GiB",
            "rund.tenants.max-retained-bytes-per-identity = 512 MiB"));

    @Test
    void followingTheTokensListsEveryJobOnceInIdOrder() throws Exception {
        RundClient alice = rund.shared("alice");
        RundClient carol = rund.shared("carol");
        List<String> alices = new ArrayList<>();
        for (int i = 0; i < 3 * MAX_PAGE; i++) {
            alices.add(LogReads.start(alice, "true"));
        }
        String carols = LogReads.start(carol, "true");

        List<ListResponse> pages = new ArrayList<>();
        List<String> listed = ids(listAll(alice, ListRequest.newBuilder().setPageSize(MAX_PAGE), pages::add));
        assertTrue(pages.size() >= 3, "more jobs than a page take several pages: " + pages.size());
        assertEquals(listed.size(), new HashSet<>(listed).size(), "no job is listed twice: " + listed);
        assertEquals(listed.stream().sorted().toList(), listed, "in id order");
        assertTrue(listed.containsAll(alices), "every one of alice's jobs is listed");
        assertFalse(listed.contains(carols), "not carol's");
        pages.forEach(page -> assertTrue(page.getJobsCount() <= MAX_PAGE, "a page holds at most the page size asked"));
    }

    @Test
    void anOldClientsEmptyRequestGetsTheFirstPageAndAToken() {
        RundClient alice = rund.shared("alice");
        ListResponse oldClients = alice.list(ListRequest.getDefaultInstance());
        assertTrue(oldClients.getJobsCount() <= DEFAULT_PAGE);
        String first = LogReads.start(alice, "true");
        for (int i = 0; i < 2 * MAX_PAGE; i++) {
            LogReads.start(alice, "true");
        }
        // As the admin, who sees every job, from this test's first job on (earlier tests' big jobs would cut a page
        // short by its bytes), so that neither the scan budget nor the byte budget cuts the page short.
        RundClient admin = rund.shared("admin");
        String token = before(admin, first);
        ListResponse page = admin.list(ListRequest.newBuilder().setPageToken(token).build());
        assertEquals(DEFAULT_PAGE, page.getJobsCount(), "the server's default page size");
        assertFalse(page.getNextPageToken().isEmpty(), "and a token for the rest");
        ListResponse huge = admin.list(ListRequest.newBuilder().setPageToken(token).setPageSize(Integer.MAX_VALUE).build());
        assertEquals(MAX_PAGE, huge.getJobsCount(), "a page size above the server's cap gets the cap");
    }

    @Test
    void noPagePassesTheMessageLimitWhenJobsCarryAMegabyteOfArguments() throws Exception {
        RundClient carol = rund.client("carol");
        try (carol) {
            List<String> big = new ArrayList<>();
            for (int i = 0; i < BIG_JOBS; i++) {
                StartRequest.Builder start = StartRequest.newBuilder().setCommand("true");
                for (int arg = 0; arg < BIG_ARGS; arg++) {
                    start.addArgs(Character.toString('a' + i).repeat(BIG_ARG_CHARS));
                }
                big.add(carol.start(start.build()).getJobId());
            }
            List<ListResponse> pages = new ArrayList<>();
            // The client keeps grpc-java's 4 MiB inbound limit: a bigger reply would fail the call.
            List<JobStatus> listed = listAll(carol, ListRequest.newBuilder().setPageSize(MAX_PAGE), pages::add);
            assertTrue(ids(listed).containsAll(big), "every big job is listed");
            for (ListResponse page : pages) {
                assertTrue(page.getSerializedSize() < CLIENT_MESSAGE_LIMIT, "page of " + page.getSerializedSize() + " bytes");
            }
            assertTrue(pages.size() >= 2, "the big jobs take more than one page: " + pages.size());
            JobStatus first = listed.stream().filter(job -> job.getId().equals(big.getFirst())).findFirst().orElseThrow();
            assertEquals(BIG_ARGS, first.getArgsCount(), "a job's arguments are listed whole");
            assertEquals(BIG_ARG_CHARS, first.getArgs(0).length());
        }
    }

    @Test
    void aCallExaminesABoundedNumberOfJobsAndAnswersWithATokenToGoOn() throws Exception {
        RundClient admin = rund.shared("admin");
        RundClient bob = rund.shared("bob"); // shares a SAN with alice, not with carol
        String carolsFirst = LogReads.start(rund.shared("carol"), "true");
        for (int i = 0; i < 2 * SCAN_BUDGET; i++) {
            LogReads.start(bob, "true");
        }
        String carolsLast = LogReads.start(rund.shared("carol"), "true");

        List<ListResponse> pages = new ArrayList<>();
        List<String> listed = ids(listAll(rund.shared("carol"),
                ListRequest.newBuilder().setPageToken(before(admin, carolsFirst)), pages::add));
        assertTrue(listed.contains(carolsFirst) && listed.contains(carolsLast), "carol's jobs on both sides of bob's: " + listed);
        assertTrue(pages.stream().anyMatch(page -> page.getJobsCount() == 0 && !page.getNextPageToken().isEmpty()),
                "a call that examined its budget of other clients' jobs answered an empty page with a token");
    }

    @Test
    void theStateFilterListsOnlyJobsInThoseStates() throws Exception {
        RundClient alice = rund.shared("alice");
        String ended = LogReads.start(alice, "true");
        LogReads.awaitEnd(alice, ended);
        String running = LogReads.start(alice, "sleep 600");
        try {
            LogReads.until(() -> alice.status(io.rund.proto.v1.StatusRequest.newBuilder().setJobId(running).build())
                    .getStatus().getState() == JobState.JOB_STATE_RUNNING, "the sleeper runs");
            List<JobStatus> runningOnes = listAll(alice, ListRequest.newBuilder().addStates(JobState.JOB_STATE_RUNNING), page -> {});
            assertTrue(ids(runningOnes).contains(running));
            assertFalse(ids(runningOnes).contains(ended));
            runningOnes.forEach(job -> assertEquals(JobState.JOB_STATE_RUNNING, job.getState()));

            List<JobStatus> endedOnes = listAll(alice, ListRequest.newBuilder()
                    .addStates(JobState.JOB_STATE_EXITED).addStates(JobState.JOB_STATE_STOPPING), page -> {});
            assertTrue(ids(endedOnes).contains(ended));
            assertFalse(ids(endedOnes).contains(running));
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(running).build());
        }
    }

    @Test
    void aTokenOrStateThatIsNoneIsAnInvalidArgumentNamingItsField() {
        RundClient alice = rund.shared("alice");
        StatusRuntimeException token = LogReads.failure(() -> alice.list(ListRequest.newBuilder().setPageToken("next please").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, token.getStatus().getCode());
        assertTrue(token.getStatus().getDescription().startsWith("page_token: "), token.getStatus().getDescription());
        StatusRuntimeException state = LogReads.failure(() -> alice.list(ListRequest.newBuilder()
                .addStates(JobState.JOB_STATE_RUNNING).addStates(JobState.JOB_STATE_UNSPECIFIED).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, state.getStatus().getCode());
        assertTrue(state.getStatus().getDescription().startsWith("states[1]: "), state.getStatus().getDescription());
    }

    /** A token that starts the listing at {@code jobId}: the id of the job just before it, as the admin sees them. */
    private static String before(RundClient admin, String jobId) {
        String previous = "";
        for (JobStatus job : listAll(admin, ListRequest.newBuilder().setPageSize(MAX_PAGE), page -> {})) {
            if (job.getId().equals(jobId)) {
                return previous;
            }
            previous = job.getId();
        }
        throw new AssertionError("job " + jobId + " is not listed");
    }

    /** Every page from {@code request}'s token on, each handed to {@code pages}; their jobs in order. */
    static List<JobStatus> listAll(RundClient client, ListRequest.Builder request, Consumer<ListResponse> pages) {
        List<JobStatus> all = new ArrayList<>();
        String token = request.getPageToken();
        Set<String> tokens = new HashSet<>();
        do {
            ListResponse page = client.list(request.setPageToken(token).build());
            pages.accept(page);
            all.addAll(page.getJobsList());
            token = page.getNextPageToken();
            assertTrue(token.isEmpty() || tokens.add(token), "a token is never handed out twice: " + token);
        } while (!token.isEmpty());
        return all;
    }

    static List<String> ids(List<JobStatus> jobs) {
        return jobs.stream().map(JobStatus::getId).toList();
    }
}
