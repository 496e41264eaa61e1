package io.rund.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gRPC server reflection answers as grpcurl asks, under v1 (grpcurl's first try) and v1alpha: the service list
 * (JobController and Health), and the file that defines JobController. The reflection messages are written and read
 * as raw protobuf fields (grpc/reflection/v1 and v1alpha/reflection.proto: the same field numbers) so that the test
 * needs no generated reflection classes.
 */
class ReflectionTest {

    private static final String V1 = "grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    private static final String V1ALPHA = "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
    // ServerReflectionRequest fields.
    private static final int FILE_CONTAINING_SYMBOL = 4;
    private static final int LIST_SERVICES = 7;
    // ServerReflectionResponse fields.
    private static final int FILE_DESCRIPTOR_RESPONSE = 4;
    private static final int LIST_SERVICES_RESPONSE = 6;
    // Nested: ListServiceResponse.service, ServiceResponse.name, FileDescriptorResponse.file_descriptor_proto.
    private static final int FIRST_FIELD = 1;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @ParameterizedTest
    @ValueSource(strings = {V1, V1ALPHA})
    void listsTheJobControllerAndHealthServices(String method) throws Exception {
        UnknownFieldSet response = reflect(method, LIST_SERVICES, "*");

        List<String> services = response.getField(LIST_SERVICES_RESPONSE).getLengthDelimitedList().stream()
                .flatMap(list -> fields(list).getField(FIRST_FIELD).getLengthDelimitedList().stream())
                .map(service -> fields(service).getField(FIRST_FIELD).getLengthDelimitedList().getFirst().toStringUtf8())
                .toList();
        assertTrue(services.contains("rund.v1.JobController"), services.toString());
        assertTrue(services.contains("grpc.health.v1.Health"), services.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {V1, V1ALPHA})
    void describesTheServiceFromItsProtoFile(String method) throws Exception {
        UnknownFieldSet response = reflect(method, FILE_CONTAINING_SYMBOL, "rund.v1.JobController");

        ByteString file = fields(response.getField(FILE_DESCRIPTOR_RESPONSE).getLengthDelimitedList().getFirst())
                .getField(FIRST_FIELD).getLengthDelimitedList().getFirst();
        FileDescriptorProto descriptor = FileDescriptorProto.parseFrom(file);
        assertEquals("rund/v1/rund.proto", descriptor.getName());
        assertEquals("JobController", descriptor.getService(0).getName());
    }

    /** What grpcurl describe shows: the comments of the .proto reach the descriptors reflection serves. */
    @ParameterizedTest
    @ValueSource(strings = {V1, V1ALPHA})
    void theDescriptorCarriesTheProtoComments(String method) throws Exception {
        UnknownFieldSet response = reflect(method, FILE_CONTAINING_SYMBOL, "rund.v1.StartRequest");

        ByteString file = fields(response.getField(FILE_DESCRIPTOR_RESPONSE).getLengthDelimitedList().getFirst())
                .getField(FIRST_FIELD).getLengthDelimitedList().getFirst();
        FileDescriptorProto descriptor = FileDescriptorProto.parseFrom(file);
        assertEquals("rund.io/api/rund/v1;rundv1", descriptor.getOptions().getGoPackage());
        // Paths as in descriptor.proto: service 6, method 2; message 4, field 2.
        assertEquals("StartRequest", descriptor.getMessageType(0).getName());
        assertTrue(leadingComment(descriptor, List.of(6, 0, 2, 0)).contains("Creates the job"), descriptor.getSourceCodeInfo().toString());
        assertTrue(leadingComment(descriptor, List.of(4, 0, 2, 0)).contains("Program to execute"), descriptor.getSourceCodeInfo().toString());
    }

    private static String leadingComment(FileDescriptorProto file, List<Integer> path) {
        return file.getSourceCodeInfo().getLocationList().stream()
                .filter(location -> location.getPathList().equals(path))
                .map(location -> location.getLeadingComments())
                .findFirst().orElse("");
    }

    private static UnknownFieldSet reflect(String method, int requestField, String value) throws Exception {
        byte[] request = UnknownFieldSet.newBuilder()
                .addField(requestField, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFromUtf8(value)).build())
                .build().toByteArray();
        TlsFiles alice = ExampleCertificates.files("alice");
        ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", rund.port())
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                        .keyManager(TlsContexts.keyManager(alice))
                        .trustManager(TlsContexts.trustManagers(alice))
                        .build())
                .build();
        try {
            CompletableFuture<byte[]> answer = new CompletableFuture<>();
            StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
                    channel.newCall(RawGrpc.method(method, MethodDescriptor.MethodType.BIDI_STREAMING), io.grpc.CallOptions.DEFAULT), new StreamObserver<>() {
                        @Override
                        public void onNext(byte[] value) {
                            answer.complete(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                            answer.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {
                            answer.completeExceptionally(new IllegalStateException("no reflection response"));
                        }
                    });
            requests.onNext(request);
            requests.onCompleted();
            return UnknownFieldSet.parseFrom(answer.get());
        } finally {
            channel.shutdownNow();
        }
    }

    private static UnknownFieldSet fields(ByteString bytes) {
        try {
            return UnknownFieldSet.parseFrom(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
