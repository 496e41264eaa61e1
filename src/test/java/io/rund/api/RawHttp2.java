package io.rund.api;

import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ResponseFuture;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.apache.pekko.util.ByteString;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A raw HTTP/2 client (pekko-http's) over one TLS connection with an example client certificate: it sends any
 * headers and body bytes to any path, so that a test can send malformed gRPC framing, unknown encodings and
 * oversized announcements that a gRPC library would never produce, and reads the answer's headers and trailers.
 */
final class RawHttp2 implements AutoCloseable {

    static final ContentType GRPC = ContentTypes.parse("application/grpc");
    private static final long TIMEOUT_SECONDS = 60;

    /** An answer: the HTTP status, and the gRPC status and message from the headers or the trailers. */
    record Reply(int httpStatus, String grpcStatus, String grpcMessage, Map<String, String> headers, ByteString body) {}

    private final ActorSystem system;
    private final SourceQueueWithComplete<HttpRequest> requests;
    private final CompletableFuture<Void> connectionEnded = new CompletableFuture<>();

    RawHttp2(ActorSystem system, int port, String certificate) throws Exception {
        this.system = system;
        var tls = ConnectionContext.httpsClient(TlsContexts.client(ExampleCertificates.files(certificate)));
        this.requests = Source.<HttpRequest>queue(64, OverflowStrategy.backpressure())
                .via(Http.get(system).connectionTo("127.0.0.1").toPort(port).withCustomHttpsConnectionContext(tls).http2())
                .to(Sink.foreach(response -> response.getAttribute(ResponseFuture.KEY()).get().future().complete(response)))
                .run(system);
        requests.watchCompletion().whenComplete((done, failure) -> connectionEnded.complete(null));
    }

    /** True once the HTTP/2 connection has ended (a GOAWAY or a failure ends it). */
    boolean connectionEnded() {
        return connectionEnded.isDone();
    }

    /** A POST to {@code path} with {@code body} and {@code headers}; the whole answer, trailers included. */
    Reply send(String path, ContentType contentType, Source<ByteString, ?> body, HttpHeader... headers) throws Exception {
        HttpRequest request = HttpRequest.create("https://127.0.0.1" + path).withMethod(HttpMethods.POST)
                .withEntity(HttpEntities.createChunked(contentType, body))
                .addHeaders(List.of(headers));
        return exchange(request);
    }

    Reply send(String path, ByteString body, HttpHeader... headers) throws Exception {
        HttpRequest request = HttpRequest.create("https://127.0.0.1" + path).withMethod(HttpMethods.POST)
                .withEntity(HttpEntities.create(GRPC, body))
                .addHeaders(List.of(headers));
        return exchange(request);
    }

    CompletableFuture<HttpResponse> response(HttpRequest request) {
        CompletableFuture<HttpResponse> response = new CompletableFuture<>();
        requests.offer(request.addAttribute(ResponseFuture.KEY(), new ResponseFuture(response)));
        return response;
    }

    private Reply exchange(HttpRequest request) throws Exception {
        HttpResponse response = response(request).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        return read(response, system);
    }

    static Reply read(HttpResponse response, ActorSystem system) throws Exception {
        Map<String, String> headers = new HashMap<>();
        response.getHeaders().forEach(h -> headers.put(h.lowercaseName(), h.value()));
        ByteString body = ByteString.emptyByteString();
        HttpEntity entity = response.entity();
        if (entity instanceof HttpEntity.Chunked chunked) {
            List<HttpEntity.ChunkStreamPart> parts = chunked.getChunks().runWith(Sink.seq(), system)
                    .toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            for (HttpEntity.ChunkStreamPart part : parts) {
                body = body.concat(part.data());
                if (part.isLastChunk()) {
                    part.getTrailerHeaders().forEach(h -> headers.put(h.lowercaseName(), h.value()));
                }
            }
        } else {
            body = entity.toStrict(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS), system).toCompletableFuture()
                    .get(TIMEOUT_SECONDS, TimeUnit.SECONDS).getData();
        }
        return new Reply(response.status().intValue(), headers.get("grpc-status"), headers.get("grpc-message"), headers, body);
    }

    @Override
    public void close() {
        requests.complete();
    }
}
