package io.rund.api;

import com.google.protobuf.CodedOutputStream;
import io.rund.proto.v1.StartRequest;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Requests are bounded before they are buffered (rund.api.max-request-bytes, here 1.25 MiB: just above Start's
 * 1 MiB cap on argv and env), measured on a real daemon in its own process: a Start whose one argument is 256 MiB,
 * streamed by a client that never holds it, is refused while the daemon's resident memory stays flat (on main it was
 * buffered and parsed: 1.75 GB); an announcement over the limit is refused before any of the message is sent; a
 * request at the argv cap is still served.
 */
class RequestSizeTest {

    private static final int LIMIT = 1280 * 1024;
    /** rund.api.max-buffered-request-bytes here: room for this many messages of the limit at once. */
    private static final int BUFFERED_LIMITS = 4;
    private static final long STREAMED = 256L << 20;
    private static final int CHUNK = 1 << 20;
    private static final long MAX_RSS_GROWTH = 50L << 20;
    private static final String START = "/rund.v1.JobController/Start";
    private static final String NO_METHOD = "/rund.v1.JobController/NoSuchMethod";

    private static DaemonProcess daemon;
    private static ActorSystem system;

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = DaemonProcess.start(Map.of("RUND_API_MAX_REQUEST_BYTES", LIMIT / 1024 + "K",
                "RUND_API_MAX_BUFFERED_REQUEST_BYTES", BUFFERED_LIMITS * LIMIT / 1024 + "K"));
        system = daemon.clientSystem();
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void aStartWhoseArgumentIs256MiBIsRefusedWithTheDaemonsMemoryFlat() throws Exception {
        RawHttp2 http = connection();
        // Warm up: the code paths run once, so that their classes and buffers are not counted as growth.
        for (int i = 0; i < 3; i++) {
            assertEquals("8", connection().send(START, RawHttp2.GRPC,
                    startWithArgumentOf(4L * LIMIT, new AtomicLong(), new CompletableFuture<>())).grpcStatus());
        }
        long before = daemon.rssBytes();
        AtomicLong sent = new AtomicLong();
        AtomicLong peak = new AtomicLong(before);
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler = Thread.ofPlatform().start(() -> {
            while (sampling.get()) {
                try {
                    peak.accumulateAndGet(daemon.rssBytes(), Math::max);
                    Thread.sleep(10);
                } catch (Exception e) {
                    return;
                }
            }
        });
        CompletableFuture<Void> bodyEnded = new CompletableFuture<>();
        RawHttp2.Reply reply = http.send(START, RawHttp2.GRPC, startWithArgumentOf(STREAMED, sent, bodyEnded));
        // This client streams on after the answer (a gRPC client would stop); the daemon drops what it reads and
        // then resets the stream, which ends the body here.
        bodyEnded.get(120, TimeUnit.SECONDS);
        sampling.set(false);
        sampler.join();
        peak.accumulateAndGet(daemon.rssBytes(), Math::max);

        System.out.printf("256 MiB Start: answer %s '%s'; %d MiB streamed; daemon RSS %d MiB before, peak %d MiB (+%.1f MiB)%n",
                reply.grpcStatus(), reply.grpcMessage(), sent.get() >> 20, before >> 20, peak.get() >> 20,
                (peak.get() - before) / 1048576.0);
        assertEquals("8", reply.grpcStatus(), "RESOURCE_EXHAUSTED expected: " + reply);
        assertTrue(reply.grpcMessage().contains("rund.api.max-request-bytes"), reply.grpcMessage());
        assertTrue(peak.get() - before < MAX_RSS_GROWTH, "the daemon's RSS grew by " + ((peak.get() - before) >> 20) + " MiB");
        assertTrue(daemon.isAlive());
        assertEquals(0, daemon.jobCgroups());
    }

    @Test
    void anAnnouncementOverTheLimitIsRefusedBeforeTheMessageIsSent() throws Exception {
        RawHttp2 http = connection();
        long announced = 3L * LIMIT / 2;
        ByteString prefix = prefix((int) announced);
        // The body stops after the prefix and stays open: the answer cannot wait for the message.
        CompletableFuture<HttpResponse> response = http.response(HttpRequest.create("https://127.0.0.1" + START)
                .withMethod(HttpMethods.POST)
                .withEntity(HttpEntities.createChunked(RawHttp2.GRPC, Source.single(prefix).concat(Source.never()))));
        RawHttp2.Reply reply = RawHttp2.read(response.get(30, TimeUnit.SECONDS), system);
        assertEquals("8", reply.grpcStatus(), reply.toString());
        assertTrue(reply.grpcMessage().contains("announces " + announced + " bytes"), reply.grpcMessage());
    }

    @Test
    void messagesBeingReadAtOnceShareOneBudget() throws Exception {
        RawHttp2 http = connection();
        long settingUp = System.nanoTime();
        // Messages announced at the limit whose bodies are held back fill the budget ...
        List<HeldMessage> held = new ArrayList<>();
        for (int i = 0; i < BUFFERED_LIMITS; i++) {
            held.add(holdMessage());
        }
        // ... so one more is refused, whatever its size within the limit. Polled: a held message is sent as soon as its
        // connection is up, but nothing tells the client when its prefix has been read; a probe read first takes the
        // share of a held one that comes meanwhile, which is refused for room (as it should be) and held again.
        ByteString full = prefix(LIMIT).concat(ByteString.fromArray(new byte[LIMIT]));
        RawHttp2.Reply refused = null;
        int heldAgain = 0;
        int probes = 0;
        long heldAt = System.nanoTime();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            boolean replaced = false;
            for (int i = 0; i < held.size(); i++) {
                if (held.get(i).response().isDone()) {
                    RawHttp2.Reply lost = RawHttp2.read(held.get(i).response().get(), system);
                    assertEquals("8", lost.grpcStatus(), "a held message is answered only once it is sent whole: " + lost);
                    held.set(i, holdMessage());
                    heldAgain++;
                    replaced = true;
                }
            }
            if (replaced) {
                // The next probe waits a poll: it would race the new connection's held message again.
                Thread.sleep(50);
                continue;
            }
            refused = http.send(START, full);
            probes++;
            if ("8".equals(refused.grpcStatus())) {
                break;
            }
            Thread.sleep(50);
        }
        System.out.printf("Budget of %d messages: held in %.1f s; probe %d refused %s after %.1f s; held messages refused for a probe"
                        + " that came first and held again: %d%n", BUFFERED_LIMITS, (heldAt - settingUp) / 1e9, probes,
                refused == null ? "(none sent)" : refused.grpcStatus(), (System.nanoTime() - heldAt) / 1e9, heldAgain);
        assertTrue(refused != null, "no probe was sent in 30 s: held messages kept being refused");
        assertEquals("8", refused.grpcStatus(), refused.toString());
        assertTrue(refused.grpcMessage().contains("rund.api.max-buffered-request-bytes"), refused.grpcMessage());
        for (HeldMessage message : held) {
            assertTrue(!message.response().isDone(), "the budget was full of the held messages, all still being read");
        }

        // Once the held ones are answered, their share comes back.
        for (HeldMessage message : held) {
            message.rest().complete(ByteString.fromArray(new byte[LIMIT]));
        }
        for (HeldMessage message : held) {
            assertEquals("3", RawHttp2.read(message.response().get(30, TimeUnit.SECONDS), system).grpcStatus());
        }
        RawHttp2.Reply after = http.send(START, full);
        assertEquals("3", after.grpcStatus(), "read and judged (zeros are no StartRequest), not refused for room: " + after);
    }

    @Test
    void bytesPastOneMessageAreRefusedAsTheyArrive() throws Exception {
        RawHttp2 http = connection();
        // A first message within the limit, then 255 MiB more: refused on the bytes after the first message.
        long before = daemon.rssBytes();
        ByteString first = frame(StartRequest.newBuilder().setCommand("true").build().toByteString());
        AtomicLong sent = new AtomicLong();
        CompletableFuture<Void> bodyEnded = new CompletableFuture<>();
        Source<ByteString, ?> more = counted(Source.repeat(ByteString.fromArray(new byte[CHUNK])).take(255), sent, bodyEnded);
        RawHttp2.Reply reply = http.send(START, RawHttp2.GRPC, Source.single(first).concat(more));
        assertEquals("3", reply.grpcStatus(), reply.toString());
        assertTrue(reply.grpcMessage().contains("exactly one request message"), reply.grpcMessage());
        bodyEnded.get(120, TimeUnit.SECONDS);
        long growth = daemon.rssBytes() - before;
        System.out.printf("255 MiB after one message: answer %s; RSS growth %.1f MiB%n", reply.grpcStatus(), growth / 1048576.0);
        assertTrue(growth < MAX_RSS_GROWTH, "the daemon's RSS grew by " + (growth >> 20) + " MiB");
    }

    @Test
    void aGzipBombIsRefusedOnItsInflatedSize() throws Exception {
        RawHttp2 http = connection();
        ByteArrayOutputStream compressed = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(compressed)) {
            byte[] zeros = new byte[CHUNK];
            for (int i = 0; i < 64; i++) {
                gzip.write(zeros);
            }
        }
        ByteString message = ByteString.fromArray(compressed.toByteArray());
        ByteString body = new ByteStringBuilder().putByte((byte) 1).putInt(message.size(), ByteOrder.BIG_ENDIAN)
                .append(message).result();
        RawHttp2.Reply reply = http.send(START, body,
                org.apache.pekko.http.javadsl.model.headers.RawHeader.create("grpc-encoding", "gzip"));
        assertEquals("8", reply.grpcStatus(), reply.toString());
        assertTrue(reply.grpcMessage().contains("inflates to more than"), reply.grpcMessage());
    }

    @Test
    void aStartAtTheArgvCapIsServed() throws Exception {
        RawHttp2 http = connection();
        // Eight arguments just under the kernel's 128 KiB per argument, 1 MiB with the command: exactly the cap.
        String argument = "x".repeat((128 << 10) - 2);
        StartRequest.Builder start = StartRequest.newBuilder().setCommand("true");
        for (int i = 0; i < 8; i++) {
            start.addArgs(argument);
        }
        RawHttp2.Reply reply = http.send(START, frame(start.build().toByteString()));
        assertEquals("0", reply.grpcStatus(), reply.toString());
    }

    /** A Start request of one argument of {@code bytes} bytes, made as it is sent, never held whole. */
    private static Source<ByteString, ?> startWithArgumentOf(long bytes, AtomicLong sent, CompletableFuture<Void> ended)
            throws Exception {
        byte[] command = StartRequest.newBuilder().setCommand("true").build().toByteArray();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(head);
        out.writeTag(StartRequest.ARGS_FIELD_NUMBER, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt64NoTag(bytes);
        out.flush();
        long messageBytes = command.length + head.size() + bytes;
        ByteString start = prefix((int) messageBytes).concat(ByteString.fromArray(command)).concat(ByteString.fromArray(head.toByteArray()));
        byte[] chunk = new byte[CHUNK];
        java.util.Arrays.fill(chunk, (byte) 'x');
        return counted(Source.single(start).concat(Source.repeat(ByteString.fromArrayUnsafe(chunk)).take(bytes / CHUNK)),
                sent, ended);
    }

    /** {@code body}, counting what the client sends and completing {@code ended} when it stops, whatever stops it. */
    private static Source<ByteString, ?> counted(Source<ByteString, ?> body, AtomicLong sent, CompletableFuture<Void> ended) {
        return body.map(part -> {
            sent.addAndGet(part.size());
            return part;
        }).watchTermination((mat, done) -> {
            done.whenComplete((ok, failure) -> ended.complete(null));
            return mat;
        });
    }

    /** A Start whose prefix announces a message of the limit and whose message is sent once {@code rest} completes. */
    private record HeldMessage(CompletableFuture<ByteString> rest, CompletableFuture<HttpResponse> response) {}

    /**
     * Sends a held message on a connection of its own (pekko-http's client sends one streamed body at a time per
     * connection), once the connection is up: a call to no method, refused before its body is read, sets up TLS and
     * HTTP/2 without taking any of the budget, so the held message's prefix comes right after it is sent.
     */
    private static HeldMessage holdMessage() throws Exception {
        RawHttp2 connection = connection();
        assertEquals("12", connection.send(NO_METHOD, ByteString.emptyByteString()).grpcStatus());
        CompletableFuture<ByteString> rest = new CompletableFuture<>();
        CompletableFuture<HttpResponse> response = connection.response(HttpRequest.create("https://127.0.0.1" + START)
                .withMethod(HttpMethods.POST)
                .withEntity(HttpEntities.createChunked(RawHttp2.GRPC,
                        Source.single(prefix(LIMIT)).concat(Source.completionStage(rest)))));
        return new HeldMessage(rest, response);
    }

    /** A connection of the test's own: a reset stream may leave pekko-http's connection window short. */
    private static RawHttp2 connection() throws Exception {
        return new RawHttp2(system, daemon.port(), "alice");
    }

    private static ByteString prefix(int length) {
        return new ByteStringBuilder().putByte((byte) 0).putInt(length, ByteOrder.BIG_ENDIAN).result();
    }

    private static ByteString frame(com.google.protobuf.ByteString message) {
        return prefix(message.size()).concat(ByteString.fromArray(message.toByteArray()));
    }
}
