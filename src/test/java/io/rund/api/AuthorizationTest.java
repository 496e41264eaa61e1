package io.rund.api;

import io.grpc.ClientInterceptor;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-job authorization by certificate SANs, end to end: alice owns her job; bob shares one SAN with her
 * (URI:spiffe://rund/team-a) and may act on it; carol shares none and cannot tell it exists; the admin sees all.
 */
class AuthorizationTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void aDisjointCallerGetsNotFoundEverywhereAndAnEmptyList() throws Exception {
        String job = startSleeper("alice");
        try (RundClient carol = rund.client("carol")) {
            assertNotFound(() -> carol.status(StatusRequest.newBuilder().setJobId(job).build()));
            assertNotFound(() -> carol.stop(StopRequest.newBuilder().setJobId(job).build()));
            assertNotFound(() -> carol.logs(LogsRequest.newBuilder().setJobId(job).build()).hasNext());
            assertFalse(ids(carol).contains(job));
        }
        try (RundClient alice = rund.client("alice")) {
            assertEquals(io.rund.proto.v1.JobState.JOB_STATE_RUNNING, status(alice, job).getState(), "carol's stop did nothing");
        }
    }

    @Test
    void anUnknownIdAnswersLikeSomeoneElsesJob() throws Exception {
        String someoneElses = startSleeper("alice");
        String unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        try (RundClient carol = rund.client("carol")) {
            StatusRuntimeException forOthers = assertThrows(StatusRuntimeException.class,
                    () -> carol.status(StatusRequest.newBuilder().setJobId(someoneElses).build()));
            StatusRuntimeException forNobody = assertThrows(StatusRuntimeException.class,
                    () -> carol.status(StatusRequest.newBuilder().setJobId(unknown).build()));
            assertEquals(forNobody.getStatus().getCode(), forOthers.getStatus().getCode());
            assertEquals(forNobody.getStatus().getDescription().replace(unknown, "ID"),
                    forOthers.getStatus().getDescription().replace(someoneElses, "ID"));
        }
    }

    @Test
    void aCallerSharingOneSanMayActOnTheJob() throws Exception {
        String job = startSleeper("alice");
        try (RundClient bob = rund.client("bob")) {
            assertEquals(job, status(bob, job).getId());
            assertTrue(ids(bob).contains(job));
            JobStatus stopped = bob.stop(StopRequest.newBuilder().setJobId(job).build()).getStatus();
            assertEquals(io.rund.proto.v1.JobState.JOB_STATE_EXITED, stopped.getState());
            assertTrue(stopped.getStoppedByRequest());
        }
    }

    @Test
    void theAdminSeesEveryJob() throws Exception {
        String alices = startSleeper("alice");
        String carols = startSleeper("carol");
        try (RundClient admin = rund.client("admin")) {
            assertTrue(ids(admin).containsAll(List.of(alices, carols)));
            assertEquals(carols, status(admin, carols).getId());
            Iterator<LogChunk> logs = admin.logs(LogsRequest.newBuilder().setJobId(alices).build());
            while (logs.hasNext()) {
                logs.next();
            }
        }
    }

    @Test
    void headersNamingAnIdentityChangeNothing() throws Exception {
        String job = startSleeper("alice");
        Metadata claims = new Metadata();
        for (String name : List.of(PeerIdentityHeader.NAME, "x-rund-identity", "x-forwarded-client-cert", "x-ssl-client-san")) {
            claims.put(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER), "DNS:alice.example,URI:spiffe://rund/team-a");
            claims.put(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER), "DNS:admin.example");
        }
        ClientInterceptor spoof = MetadataUtils.newAttachHeadersInterceptor(claims);
        try (RundClient carol = RundClient.connect(rund.address(), ExampleCertificates.files("carol"), spoof)) {
            assertNotFound(() -> carol.status(StatusRequest.newBuilder().setJobId(job).build()));
            assertNotFound(() -> carol.stop(StopRequest.newBuilder().setJobId(job).build()));
            assertFalse(ids(carol).contains(job));
            // A job carol starts with the spoofed headers is still hers alone.
            String carols = carol.start(StartRequest.newBuilder().setCommand("sleep").addArgs("1000").build()).getJobId();
            try (RundClient alice = rund.client("alice")) {
                assertNotFound(() -> alice.status(StatusRequest.newBuilder().setJobId(carols).build()));
            }
        }
    }

    private static String startSleeper(String owner) throws Exception {
        try (RundClient client = rund.client(owner)) {
            return client.start(StartRequest.newBuilder().setCommand("sleep").addArgs("1000").build()).getJobId();
        }
    }

    private static JobStatus status(RundClient client, String job) {
        return client.status(StatusRequest.newBuilder().setJobId(job).build()).getStatus();
    }

    private static List<String> ids(RundClient client) {
        return client.list(ListRequest.getDefaultInstance()).getJobsList().stream().map(JobStatus::getId).toList();
    }

    private static void assertNotFound(Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.getStatus().toString());
    }
}
