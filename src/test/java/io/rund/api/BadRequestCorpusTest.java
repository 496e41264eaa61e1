package io.rund.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.grpc.CallOptions;
import io.grpc.Codec;
import io.grpc.CompressorRegistry;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The security review's bad requests, and more, against a real daemon in its own process: each is answered with a
 * clear error for that call only. None is INTERNAL or UNKNOWN, none has an empty message, no message is long or holds
 * a control character, the daemon logs no stack trace and no forged line, the connection outlives them (one that a
 * live follower shares keeps streaming), and nothing is left behind: no job, cgroup, log or descriptor. On main 13 of
 * the review's 175 answered INTERNAL with an empty message, and one (grpc-encoding snappy) tore the connection down.
 */
class BadRequestCorpusTest {

    private static final Set<Status.Code> NEVER = Set.of(Status.Code.INTERNAL, Status.Code.UNKNOWN);
    private static final int MAX_DESCRIPTION = 1200;
    private static final String FORGED = "FORGED-LOG-LINE";
    private static final byte[][] BAD_UTF8 = {
            {(byte) 0xff}, {(byte) 0xc0, (byte) 0x80}, {(byte) 0x80}, {(byte) 0xe2, (byte) 0x82},
            {(byte) 0xed, (byte) 0xa0, (byte) 0x80}};
    private static final String VALID_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    private static final int MIN_CASES = 150;

    private static DaemonProcess daemon;
    private static ActorSystem system;

    /** One named bad request and the codes that answer it correctly. */
    private interface Send {
        Result send() throws Exception;
    }

    private record Result(Status.Code code, String description) {}

    private record Case(String name, Set<Status.Code> expected, Send send) {}

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = DaemonProcess.start(Map.of());
        system = daemon.clientSystem();
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void everyBadRequestGetsAClearErrorAndNothingLeaks() throws Exception {
        try (RawGrpc grpc = new RawGrpc(daemon.port(), "alice"); RawHttp2 http = new RawHttp2(system, daemon.port(), "alice")) {
            grpc.call("List", new byte[0]); // warm: the descriptor count below is taken with connections open
            http.send("/rund.v1.JobController/List", frame(new byte[0]));
            int fdsBefore = daemon.openFiles();
            long logsBefore = daemon.logFiles();
            List<Case> cases = corpus(grpc, http);
            assertTrue(cases.size() >= MIN_CASES, cases.size() + " cases");
            Map<Status.Code, Integer> codes = new TreeMap<>();
            List<String> failures = new ArrayList<>();
            for (Case c : cases) {
                Result result = c.send().send();
                codes.merge(result.code(), 1, Integer::sum);
                String shown = String.valueOf(result.description());
                System.out.println("  " + c.name() + " -> " + result.code() + " "
                        + (shown.length() > 160 ? shown.substring(0, 160) + "..." : shown));
                String why = judge(c, result);
                if (why != null) {
                    failures.add(c.name() + ": " + why);
                }
            }
            System.out.println("Bad-request corpus: " + cases.size() + " cases; codes " + codes);
            assertEquals(List.of(), failures);
            assertFalse(http.connectionEnded(), "the raw HTTP/2 connection was torn down");
            assertEquals("0", http.send("/rund.v1.JobController/List", frame(new byte[0])).grpcStatus(),
                    "the raw connection still serves");
            assertEquals(Status.Code.OK, grpc.call("List", new byte[0]).code(), "the gRPC connection still serves");
            assertTrue(daemon.isAlive());
            assertEquals(0, daemon.jobCgroups(), "no job cgroup is left");
            assertEquals(logsBefore, daemon.logFiles(), "no job log was created");
            int fdsAfter = daemon.openFiles();
            System.out.println("Daemon descriptors: " + fdsBefore + " before, " + fdsAfter + " after");
            assertTrue(fdsAfter <= fdsBefore + 10, "descriptors grew from " + fdsBefore + " to " + fdsAfter);
        }
        List<String> log = daemon.logLines();
        for (String line : log) {
            assertFalse(line.startsWith(FORGED) || line.startsWith("\tat ") || line.contains("Exception: "), "log line: " + line);
        }
        assertTrue(log.stream().anyMatch(line -> line.contains("Refused ") && line.contains("\\n" + FORGED)),
                "the refusal naming the forged user is logged, escaped");
        long refusedLines = log.stream().filter(line -> line.contains("Refused ")).count();
        System.out.println("Daemon log: " + refusedLines + " 'Refused' lines (rate-limited to 60 a minute)");
        assertTrue(refusedLines <= 60, refusedLines + " refusal lines");
    }

    @Test
    void anUnsupportedEncodingFailsItsCallAndALiveFollowerOnTheSameConnectionKeepsReceiving() throws Exception {
        CompressorRegistry compressors = CompressorRegistry.newEmptyInstance();
        compressors.register(new Codec() { // what grpc-java sends as grpc-encoding: snappy (the bytes do not matter)
            @Override
            public String getMessageEncoding() {
                return "snappy";
            }

            @Override
            public OutputStream compress(OutputStream os) {
                return os;
            }

            @Override
            public InputStream decompress(InputStream is) {
                return is;
            }
        });
        try (RawGrpc grpc = new RawGrpc(daemon.port(), "alice", compressors)) {
            RawGrpc.Answer started = grpc.call("Start", StartRequest.newBuilder().setCommand("sh")
                    .addArgs("-c").addArgs("while :; do echo tick; sleep 0.1; done").build().toByteArray());
            assertEquals(Status.Code.OK, started.code(), started.status().toString());
            String jobId = io.rund.proto.v1.StartResponse.parseFrom(started.messages().getFirst()).getJobId();
            List<byte[]> chunks = new java.util.concurrent.CopyOnWriteArrayList<>();
            var follower = grpc.channel().newCall(RawGrpc.method("Logs"), CallOptions.DEFAULT);
            follower.start(new io.grpc.ClientCall.Listener<>() {
                @Override
                public void onMessage(byte[] message) {
                    chunks.add(message);
                    follower.request(1);
                }
            }, new io.grpc.Metadata());
            follower.request(1);
            follower.sendMessage(LogsRequest.newBuilder().setJobId(jobId).setFollow(true).build().toByteArray());
            follower.halfClose();
            awaitMore(chunks, 0);

            RawGrpc.Answer snappy = grpc.call(RawGrpc.method("List"), CallOptions.DEFAULT.withCompression("snappy"),
                    ListRequest.getDefaultInstance().toByteArray());
            assertEquals(Status.Code.UNIMPLEMENTED, snappy.code(), snappy.status().toString());
            assertTrue(snappy.description().contains("snappy"), snappy.description());

            int seen = chunks.size();
            awaitMore(chunks, seen + 3);
            follower.cancel("done", null);
            assertEquals(Status.Code.OK, grpc.call("Stop", StopRequest.newBuilder().setJobId(jobId).build().toByteArray()).code());
        }
    }

    private static void awaitMore(List<byte[]> chunks, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (chunks.size() <= atLeast && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(chunks.size() > atLeast, "the follower received " + chunks.size() + " chunks, wanted more than " + atLeast);
    }

    private static String judge(Case c, Result result) {
        if (NEVER.contains(result.code())) {
            return "answered " + result.code() + " " + result.description();
        }
        if (!c.expected().contains(result.code())) {
            return "answered " + result.code() + " (" + result.description() + "), expected " + c.expected();
        }
        if (result.code() != Status.Code.OK) {
            String d = result.description();
            if (d == null || d.isBlank()) {
                return "answered " + result.code() + " with no message";
            }
            if (d.length() > MAX_DESCRIPTION) {
                return "message of " + d.length() + " characters";
            }
            if (d.chars().anyMatch(ch -> Character.isISOControl(ch) || Character.getType(ch) == Character.FORMAT)) {
                return "message holds a control character: " + d;
            }
        }
        return null;
    }

    // ---- the corpus ----

    private static List<Case> corpus(RawGrpc grpc, RawHttp2 http) throws Exception {
        List<Case> cases = new ArrayList<>();
        Set<Status.Code> invalid = Set.of(Status.Code.INVALID_ARGUMENT);

        // Control characters in what reaches the log: put first, so the rate limit cannot hide their lines.
        Map<String, StartRequest> forged = new LinkedHashMap<>();
        forged.put("newline in user", StartRequest.newBuilder().setCommand("true").setUser("nobody\n" + FORGED).build());
        forged.put("CR LF in user", StartRequest.newBuilder().setCommand("true").setUser("x\r\n" + FORGED + " INFO").build());
        forged.put("ANSI escape in user", StartRequest.newBuilder().setCommand("true").setUser("\u001b[2J\u001b[31mroot").build());
        forged.put("newline in command", StartRequest.newBuilder().setCommand("/nonexistent\n" + FORGED).build());
        forged.put("RTL override in command", StartRequest.newBuilder().setCommand("/nonexistent\u202egnp.exe").build());
        forged.put("bell and backspace in command", StartRequest.newBuilder().setCommand("/no\u0007\u0008ne").build());
        forged.put("newline in env name", StartRequest.newBuilder().setCommand("true").putEnv("A=\n" + FORGED, "x").build());
        forged.put("NUL and newline in env value", StartRequest.newBuilder().setCommand("true").putEnv("A", "x\0\n" + FORGED).build());
        forged.put("newline in working directory", StartRequest.newBuilder().setCommand("true").setWorkingDirectory("rel\n" + FORGED).build());
        forged.forEach((name, request) -> cases.add(new Case(name, Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.FAILED_PRECONDITION),
                () -> grpcCall(grpc, "Start", request.toByteArray()))));

        // Invalid UTF-8 in every string field of every request message.
        for (byte[] bad : BAD_UTF8) {
            String hex = java.util.HexFormat.of().formatHex(bad);
            ByteString b = ByteString.copyFrom(bad);
            cases.add(new Case("Start.command " + hex, invalid, () -> grpcCall(grpc, "Start", field(1, b))));
            cases.add(new Case("Start.args[0] " + hex, invalid, () -> grpcCall(grpc, "Start", concat(field(1, utf8("true")), field(2, b)))));
            cases.add(new Case("Start.args[1] " + hex, invalid, () -> grpcCall(grpc, "Start",
                    concat(field(1, utf8("true")), field(2, utf8("ok")), field(2, b)))));
            cases.add(new Case("Start.env key " + hex, invalid, () -> grpcCall(grpc, "Start",
                    concat(field(1, utf8("true")), field(3, concat(field(1, b), field(2, utf8("v"))))))));
            cases.add(new Case("Start.env value " + hex, invalid, () -> grpcCall(grpc, "Start",
                    concat(field(1, utf8("true")), field(3, concat(field(1, utf8("K")), field(2, b)))))));
            cases.add(new Case("Start.working_directory " + hex, invalid, () -> grpcCall(grpc, "Start", concat(field(1, utf8("true")), field(4, b)))));
            cases.add(new Case("Start.user " + hex, invalid, () -> grpcCall(grpc, "Start", concat(field(1, utf8("true")), field(5, b)))));
            cases.add(new Case("Start.limits.io[0].device " + hex, invalid, () -> grpcCall(grpc, "Start",
                    concat(field(1, utf8("true")), field(6, field(6, field(1, field(1, b))))))));
            for (String method : List.of("Stop", "Status", "Logs")) {
                cases.add(new Case(method + ".job_id " + hex, invalid, () -> grpcCall(grpc, method, field(1, b))));
            }
            for (int reflectionField : new int[] {1, 3, 4, 7}) {
                cases.add(new Case("ServerReflectionRequest field " + reflectionField + " " + hex, invalid,
                        () -> reflection(http, field(reflectionField, b))));
            }
        }

        // Truncated and over-long protobuf, malformed varints and tags, for every method.
        Map<String, byte[]> valid = new LinkedHashMap<>();
        valid.put("Start", StartRequest.newBuilder().setCommand("sleep-a-long-command-name").build().toByteArray());
        valid.put("Stop", StopRequest.newBuilder().setJobId(VALID_ID).build().toByteArray());
        valid.put("Status", StatusRequest.newBuilder().setJobId(VALID_ID).build().toByteArray());
        valid.put("Logs", LogsRequest.newBuilder().setJobId(VALID_ID).build().toByteArray());
        valid.put("List", concat(field(99, utf8("an unknown field, skipped when whole"))));
        for (var entry : valid.entrySet()) {
            String method = entry.getKey();
            byte[] bytes = entry.getValue();
            for (int cut : new int[] {1, 2, bytes.length / 2, bytes.length - 1}) {
                cases.add(new Case(method + " cut to " + cut + " of " + bytes.length + " bytes", invalid,
                        () -> grpcCall(grpc, method, java.util.Arrays.copyOf(bytes, cut))));
            }
            cases.add(new Case(method + " length beyond the end", invalid,
                    () -> grpcCall(grpc, method, concat(tag(1, WireFormat.WIRETYPE_LENGTH_DELIMITED), varint(1000), utf8("abc")))));
            cases.add(new Case(method + " 11-byte varint", invalid, () -> grpcCall(grpc, method,
                    concat(tag(2, WireFormat.WIRETYPE_VARINT), new byte[] {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1}))));
            cases.add(new Case(method + " wire type 6", invalid, () -> grpcCall(grpc, method, new byte[] {(byte) ((1 << 3) | 6), 0})));
            cases.add(new Case(method + " wire type 7", invalid, () -> grpcCall(grpc, method, new byte[] {(byte) ((1 << 3) | 7), 0})));
            cases.add(new Case(method + " field number 0", invalid, () -> grpcCall(grpc, method, new byte[] {0x02, 0})));
            cases.add(new Case(method + " unterminated group", invalid, () -> grpcCall(grpc, method, tag(9, WireFormat.WIRETYPE_START_GROUP))));
            cases.add(new Case(method + " two messages", invalid, () -> twoMessages(grpc, method, bytes)));
        }

        // Known fields sent with a wire type their type never has.
        cases.add(new Case("Start.command as varint", invalid, () -> grpcCall(grpc, "Start", concat(tag(1, WireFormat.WIRETYPE_VARINT), varint(5)))));
        cases.add(new Case("Start.args as fixed32", invalid, () -> grpcCall(grpc, "Start", concat(tag(2, WireFormat.WIRETYPE_FIXED32), new byte[4]))));
        cases.add(new Case("Start.env as fixed64", invalid, () -> grpcCall(grpc, "Start", concat(tag(3, WireFormat.WIRETYPE_FIXED64), new byte[8]))));
        cases.add(new Case("Start.limits as varint", invalid, () -> grpcCall(grpc, "Start", concat(tag(6, WireFormat.WIRETYPE_VARINT), varint(1)))));
        cases.add(new Case("Start.limits.pids_max as varint", invalid, () -> grpcCall(grpc, "Start",
                concat(field(1, utf8("true")), field(6, concat(tag(5, WireFormat.WIRETYPE_VARINT), varint(7)))))));
        for (String method : List.of("Stop", "Status", "Logs")) {
            cases.add(new Case(method + ".job_id as varint", invalid, () -> grpcCall(grpc, method, concat(tag(1, WireFormat.WIRETYPE_VARINT), varint(42)))));
            cases.add(new Case(method + ".job_id as group", invalid, () -> grpcCall(grpc, method,
                    concat(tag(1, WireFormat.WIRETYPE_START_GROUP), tag(1, WireFormat.WIRETYPE_END_GROUP)))));
        }
        cases.add(new Case("Status.wait_for_end as length-delimited", invalid, () -> grpcCall(grpc, "Status",
                concat(field(1, utf8(VALID_ID)), field(2, utf8("yes"))))));
        cases.add(new Case("Logs.follow as fixed32", invalid, () -> grpcCall(grpc, "Logs",
                concat(field(1, utf8(VALID_ID)), tag(2, WireFormat.WIRETYPE_FIXED32), new byte[4]))));
        cases.add(new Case("Logs.from_offset as length-delimited", invalid, () -> grpcCall(grpc, "Logs",
                concat(field(1, utf8(VALID_ID)), field(3, utf8("0"))))));
        cases.add(new Case("Logs.since as varint", invalid, () -> grpcCall(grpc, "Logs",
                concat(field(1, utf8(VALID_ID)), tag(5, WireFormat.WIRETYPE_VARINT), varint(1)))));

        // Bad job ids, for every RPC that takes one.
        Map<String, Set<Status.Code>> ids = new LinkedHashMap<>();
        ids.put("", invalid);
        ids.put(VALID_ID.toLowerCase(), Set.of(Status.Code.NOT_FOUND)); // lower case is canonicalized: no such job
        ids.put(VALID_ID.substring(1), invalid);
        ids.put(VALID_ID + "0", invalid);
        ids.put(VALID_ID.substring(0, 25) + "I", invalid);
        ids.put(VALID_ID.substring(0, 25) + "L", invalid);
        ids.put(VALID_ID.substring(0, 25) + "O", invalid);
        ids.put(VALID_ID.substring(0, 25) + "U", invalid);
        ids.put("8" + VALID_ID.substring(1), invalid);
        ids.put("Z" + VALID_ID.substring(1), invalid);
        ids.put(VALID_ID.substring(0, 25) + "-", invalid);
        ids.put(VALID_ID.substring(0, 24) + "\u00e9", invalid);
        ids.put(VALID_ID.substring(0, 24) + "\ud83d\ude00", invalid);
        ids.put(VALID_ID.substring(0, 25) + "\0", invalid);
        ids.put("../../../../../../etc/passwd", invalid);
        ids.put(VALID_ID.substring(0, 13) + "\n" + VALID_ID.substring(14), invalid);
        ids.put("A".repeat(3_000_000), invalid); // echoed whole on main: a 3 MB grpc-message hung grpc-js
        for (var id : ids.entrySet()) {
            String shown = id.getKey().length() > 40 ? id.getKey().length() + " characters" : "'" + id.getKey() + "'";
            cases.add(new Case("Stop job id " + shown, id.getValue(), () -> grpcCall(grpc, "Stop",
                    StopRequest.newBuilder().setJobId(id.getKey()).build().toByteArray())));
            cases.add(new Case("Status job id " + shown, id.getValue(), () -> grpcCall(grpc, "Status",
                    StatusRequest.newBuilder().setJobId(id.getKey()).build().toByteArray())));
            cases.add(new Case("Logs job id " + shown, id.getValue(), () -> grpcCall(grpc, "Logs",
                    LogsRequest.newBuilder().setJobId(id.getKey()).build().toByteArray())));
        }

        // gRPC framing garbage, sent raw over one HTTP/2 connection.
        Set<Status.Code> tooBig = Set.of(Status.Code.RESOURCE_EXHAUSTED);
        for (String method : List.of("Start", "Stop", "Status", "Logs", "List")) {
            String path = "/rund.v1.JobController/" + method;
            byte[] message = valid.get(method);
            cases.add(new Case(method + " empty body", invalid, () -> raw(http, path, new byte[0])));
            cases.add(new Case(method + " 3 bytes of a prefix", invalid, () -> raw(http, path, new byte[] {0, 0, 0})));
            cases.add(new Case(method + " prefix announcing more than sent", invalid,
                    () -> raw(http, path, concat(prefix(0, 100), message))));
            cases.add(new Case(method + " compressed flag without encoding", invalid, () -> raw(http, path, concat(prefix(1, message.length), message))));
            cases.add(new Case(method + " unknown flag 0x80", invalid, () -> raw(http, path, concat(prefix(0x80, message.length), message))));
            cases.add(new Case(method + " unknown flag 0x02", invalid, () -> raw(http, path, concat(prefix(2, message.length), message))));
            cases.add(new Case(method + " trailing garbage", invalid, () -> raw(http, path, concat(prefix(0, message.length), message, new byte[] {1, 2, 3}))));
            cases.add(new Case(method + " announces 2^31-1", tooBig, () -> raw(http, path, concat(prefix(0, Integer.MAX_VALUE), message))));
            cases.add(new Case(method + " announces 2^32-1", tooBig, () -> raw(http, path, concat(prefix(0, -1), message))));
            cases.add(new Case(method + " announces 1.5 GiB", tooBig, () -> raw(http, path, concat(prefix(0, 3 << 29), message))));
            cases.add(new Case(method + " gzip flag, not gzip", invalid, () -> raw(http, path, concat(prefix(1, message.length), message),
                    RawHeader.create("grpc-encoding", "gzip"))));
            for (String encoding : List.of("snappy", "deflate", "x-unknown")) {
                cases.add(new Case(method + " grpc-encoding " + encoding, Set.of(Status.Code.UNIMPLEMENTED),
                        () -> raw(http, path, concat(prefix(1, message.length), message), RawHeader.create("grpc-encoding", encoding))));
            }
        }
        cases.add(new Case("unknown method", Set.of(Status.Code.UNIMPLEMENTED), () -> raw(http, "/rund.v1.JobController/Explode", frame(new byte[0]))));
        cases.add(new Case("unknown service", Set.of(Status.Code.UNIMPLEMENTED), () -> raw(http, "/rund.v9.Nope/List", frame(new byte[0]))));
        cases.add(new Case("gRPC-Web content type", Set.of(Status.Code.UNIMPLEMENTED), () -> plain(http, HttpRequest
                .create("https://127.0.0.1/rund.v1.JobController/List").withMethod(HttpMethods.POST)
                .withEntity(HttpEntities.create(ContentTypes.parse("application/grpc-web+proto"), frame(new byte[0]).toArray())), 415)));
        cases.add(new Case("text/plain content type", Set.of(Status.Code.UNIMPLEMENTED), () -> plain(http, HttpRequest
                .create("https://127.0.0.1/rund.v1.JobController/List").withMethod(HttpMethods.POST)
                .withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, "hello")), 415)));
        for (String method : List.of("List", "Start")) {
            cases.add(new Case("HTTP/1.1 " + method, Set.of(Status.Code.UNIMPLEMENTED), () -> http11(method)));
        }
        return cases;
    }

    // ---- senders ----

    private static Result grpcCall(RawGrpc grpc, String method, byte[] message) throws Exception {
        RawGrpc.Answer answer = grpc.call(method, message);
        return new Result(answer.code(), answer.description());
    }

    private static Result twoMessages(RawGrpc grpc, String method, byte[] message) throws Exception {
        MethodDescriptor<byte[], byte[]> streaming = RawGrpc.method(RawGrpc.SERVICE + "/" + method,
                MethodDescriptor.MethodType.BIDI_STREAMING);
        RawGrpc.Answer answer = grpc.call(streaming, CallOptions.DEFAULT, message, message);
        return new Result(answer.code(), answer.description());
    }

    private static Result reflection(RawHttp2 http, byte[] message) throws Exception {
        return raw(http, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", frame(message));
    }

    private static Result raw(RawHttp2 http, String path, byte[] body, RawHeader... headers) throws Exception {
        return raw(http, path, org.apache.pekko.util.ByteString.fromArray(body), headers);
    }

    private static Result raw(RawHttp2 http, String path, org.apache.pekko.util.ByteString body, RawHeader... headers) throws Exception {
        RawHttp2.Reply reply = http.send(path, body, headers);
        if (reply.grpcStatus() == null) {
            return new Result(Status.Code.UNKNOWN, "HTTP " + reply.httpStatus() + " without grpc-status");
        }
        return new Result(Status.fromCodeValue(Integer.parseInt(reply.grpcStatus())).getCode(),
                reply.grpcMessage() == null ? null : java.net.URLDecoder.decode(reply.grpcMessage().replace("+", "%2B"), StandardCharsets.UTF_8));
    }

    /** A plain HTTP refusal is counted as UNIMPLEMENTED when it has the expected HTTP status and says why. */
    private static Result plain(RawHttp2 http, HttpRequest request, int expectedStatus) throws Exception {
        HttpResponse response = http.response(request).get(30, TimeUnit.SECONDS);
        RawHttp2.Reply reply = RawHttp2.read(response, system);
        String text = reply.body().utf8String().strip();
        return reply.httpStatus() == expectedStatus && !text.isEmpty()
                ? new Result(Status.Code.UNIMPLEMENTED, text)
                : new Result(Status.Code.UNKNOWN, "HTTP " + reply.httpStatus() + ": " + text);
    }

    /** gRPC over HTTP/1.1 (TLS with ALPN http/1.1): refused with 505. */
    private static Result http11(String method) throws Exception {
        var tls = ConnectionContext.httpsClient(io.rund.auth.TlsContexts.client(io.rund.auth.ExampleCertificates.files("alice")));
        HttpRequest request = HttpRequest.create("/rund.v1.JobController/" + method).withMethod(HttpMethods.POST)
                .withEntity(HttpEntities.create(RawHttp2.GRPC, frame(new byte[0]).toArray()))
                .addHeader(org.apache.pekko.http.javadsl.model.headers.Host.create("127.0.0.1", daemon.port()))
                .addHeader(RawHeader.create("te", "trailers"));
        HttpResponse response = Source.single(request)
                .via(Http.get(system).connectionTo("127.0.0.1").toPort(daemon.port()).withCustomHttpsConnectionContext(tls).https())
                .runWith(Sink.head(), system).toCompletableFuture().get(30, TimeUnit.SECONDS);
        RawHttp2.Reply reply = RawHttp2.read(response, system);
        String text = reply.body().utf8String().strip();
        return reply.httpStatus() == 505 && text.contains("HTTP/2")
                ? new Result(Status.Code.UNIMPLEMENTED, text)
                : new Result(Status.Code.UNKNOWN, "HTTP " + reply.httpStatus() + ": " + text);
    }

    // ---- bytes ----

    private static ByteString utf8(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private static byte[] field(int number, ByteString value) {
        return concat(tag(number, WireFormat.WIRETYPE_LENGTH_DELIMITED), varint(value.size()), value.toByteArray());
    }

    private static byte[] field(int number, byte[] value) {
        return field(number, ByteString.copyFrom(value));
    }

    private static byte[] tag(int number, int wireType) {
        return varint(((long) number << 3) | wireType);
    }

    private static byte[] varint(long value) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            CodedOutputStream coded = CodedOutputStream.newInstance(out);
            coded.writeUInt64NoTag(value);
            coded.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] concat(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            byte[] bytes = part instanceof ByteString b ? b.toByteArray() : (byte[]) part;
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    private static byte[] prefix(int flags, int length) {
        return ByteBuffer.allocate(5).order(ByteOrder.BIG_ENDIAN).put((byte) flags).putInt(length).array();
    }

    private static org.apache.pekko.util.ByteString frame(byte[] message) {
        return org.apache.pekko.util.ByteString.fromArray(concat(prefix(0, message.length), message));
    }
}
