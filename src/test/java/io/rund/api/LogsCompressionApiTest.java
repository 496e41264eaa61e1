package io.rund.api;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.RundClient;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Logs to a client that accepts gzip (grpc-java does, as rund's CLI): compressed when it is worth it, and the
 * bytes, offsets and streams exactly what the job wrote, followed live or read after its end; with
 * rund.api.log-compression = off, never compressed.
 */
class LogsCompressionApiTest {

    /** seq 1 60000: 348,894 bytes of text that compresses several times, in several records. */
    private static final String NUMBERS = "seq 1 60000";
    private static final byte[] EXPECTED = (IntStream.rangeClosed(1, 60_000).mapToObj(Integer::toString)
            .collect(Collectors.joining("\n")) + "\n").getBytes(StandardCharsets.US_ASCII);

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @RegisterExtension
    static final ApiFixture plain = new ApiFixture("rund.api.log-compression = off");

    @Test
    void compressibleOutputArrivesCompressedAndExact() throws Exception {
        List<String> encodings = new CopyOnWriteArrayList<>();
        try (RundClient alice = RundClient.connect(rund.address(), ExampleCertificates.files("alice"), encodingOf(encodings))) {
            // Followed from the start while it runs, then read again after its end: both exact.
            String job = LogReads.start(alice, NUMBERS + "; printf 'err\\n' >&2; " + NUMBERS + " >&2");
            LogReads.Stream followed = LogReads.read(alice, LogReads.request(job).setFollow(true).build());
            LogReads.Stream read = LogReads.read(alice, LogReads.request(job).setTimestamps(true).build());
            for (LogReads.Stream stream : List.of(followed, read)) {
                assertArrayEquals(EXPECTED, stream.bytes(LogStream.LOG_STREAM_STDOUT));
                byte[] err = ("err\n" + new String(EXPECTED, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII);
                assertArrayEquals(err, stream.bytes(LogStream.LOG_STREAM_STDERR));
                assertContiguous(stream.chunks());
            }
            // Resuming inside a record (its part is one reader's, sent as it is) gives exactly the rest.
            LogReads.Stream rest = LogReads.read(alice, LogReads.request(job).setFromOffset(1_000).build());
            assertEquals(1_000, rest.chunks().getFirst().getOffset());
            assertEquals(2 * EXPECTED.length + 4 - 1_000, rest.end() - 1_000);
        }
        assertEquals(List.of(SharedCompression.GZIP, SharedCompression.GZIP, SharedCompression.GZIP), encodings,
                "each Logs response's grpc-encoding");
    }

    @Test
    void withCompressionOffNothingIsCompressed() throws Exception {
        List<String> encodings = new CopyOnWriteArrayList<>();
        try (RundClient alice = RundClient.connect(plain.address(), ExampleCertificates.files("alice"), encodingOf(encodings))) {
            String job = LogReads.start(alice, NUMBERS);
            LogReads.Stream followed = LogReads.read(alice, LogReads.request(job).setFollow(true).build());
            assertArrayEquals(EXPECTED, followed.bytes(LogStream.LOG_STREAM_STDOUT));
            assertContiguous(followed.chunks());
        }
        assertEquals(List.of("identity"), encodings, "the Logs response's grpc-encoding");
    }

    private static void assertContiguous(List<LogData> chunks) {
        long next = 0;
        for (LogData chunk : chunks) {
            assertEquals(next, chunk.getOffset(), "each chunk starts where the one before ended");
            next += chunk.getData().size();
        }
    }

    /** Notes the grpc-encoding header of each Logs response. */
    private static ClientInterceptor encodingOf(List<String> encodings) {
        Metadata.Key<String> key = Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER);
        return new ClientInterceptor() {
            @Override
            public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                    @Override
                    public void start(Listener<A> listener, Metadata headers) {
                        super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                            @Override
                            public void onHeaders(Metadata responseHeaders) {
                                if (method.getBareMethodName().equals("Logs")) {
                                    encodings.add(responseHeaders.get(key));
                                }
                                super.onHeaders(responseHeaders);
                            }
                        }, headers);
                    }
                };
            }
        };
    }
}
