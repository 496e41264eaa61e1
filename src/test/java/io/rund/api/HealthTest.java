package io.rund.api;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * gRPC's standard health service as a health checker calls it (grpc-java, its own TLS connection with a client
 * certificate): SERVING for the server and rund.v1.JobController, NOT_FOUND for a service rund does not have, and a
 * Watch that sees NOT_SERVING once the daemon begins to shut down (the last test: it shuts the fixture's daemon).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HealthTest {

    private static final long TIMEOUT_SECONDS = 30;
    private static final MethodDescriptor<HealthCheckRequest, HealthCheckResponse> CHECK = method("Check", MethodDescriptor.MethodType.UNARY);
    private static final MethodDescriptor<HealthCheckRequest, HealthCheckResponse> WATCH = method("Watch", MethodDescriptor.MethodType.SERVER_STREAMING);

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    private ManagedChannel channel;

    @BeforeEach
    void connect() throws Exception {
        TlsFiles alice = ExampleCertificates.files("alice");
        channel = NettyChannelBuilder.forAddress("localhost", rund.port())
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                        .keyManager(TlsContexts.keyManager(alice))
                        .trustManager(TlsContexts.trustManagers(alice))
                        .build())
                .build();
    }

    @AfterEach
    void disconnect() throws InterruptedException {
        channel.shutdownNow().awaitTermination(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    @Order(1)
    void theServerAndTheJobServiceAreServing() {
        assertEquals(ServingStatus.SERVING, check("").getStatus());
        assertEquals(ServingStatus.SERVING, check("rund.v1.JobController").getStatus());
    }

    @Test
    @Order(2)
    void aServiceRundDoesNotHaveIsNotFoundToCheckAndUnknownToWatch() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> check("some.other.Service"));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.getStatus().toString());

        Iterator<HealthCheckResponse> watch = ClientCalls.blockingServerStreamingCall(channel, WATCH,
                CallOptions.DEFAULT.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS), request("some.other.Service"));
        assertEquals(ServingStatus.SERVICE_UNKNOWN, watch.next().getStatus());
    }

    @Test
    @Order(3)
    void aWatchSeesServingThenNotServingOnceTheDaemonShutsDown() {
        Iterator<HealthCheckResponse> watch = ClientCalls.blockingServerStreamingCall(channel, WATCH,
                CallOptions.DEFAULT.withDeadlineAfter(TIMEOUT_SECONDS * 2, TimeUnit.SECONDS), request(""));
        assertEquals(ServingStatus.SERVING, watch.next().getStatus());

        rund.daemon().shutdown(); // as SIGTERM does; the fixture waits for it after this class

        List<ServingStatus> after = new ArrayList<>();
        watch.forEachRemaining(response -> after.add(response.getStatus()));
        assertEquals(List.of(ServingStatus.NOT_SERVING), after, "the watch ends after NOT_SERVING, without error");
        assertFalse(watch.hasNext());
    }

    private HealthCheckResponse check(String service) {
        return ClientCalls.blockingUnaryCall(channel, CHECK,
                CallOptions.DEFAULT.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS), request(service));
    }

    private static HealthCheckRequest request(String service) {
        return HealthCheckRequest.newBuilder().setService(service).build();
    }

    private static MethodDescriptor<HealthCheckRequest, HealthCheckResponse> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<HealthCheckRequest, HealthCheckResponse>newBuilder()
                .setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("grpc.health.v1.Health", name))
                .setRequestMarshaller(ProtoUtils.marshaller(HealthCheckRequest.getDefaultInstance()))
                .setResponseMarshaller(ProtoUtils.marshaller(HealthCheckResponse.getDefaultInstance()))
                .build();
    }
}
