package io.rund.api;

import com.google.protobuf.Int64Value;
import com.google.protobuf.StringValue;
import com.google.protobuf.Timestamp;
import io.grpc.CallOptions;
import io.grpc.Status;
import io.rund.proto.v1.IoLimit;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A seeded fuzzer over request decoding and validation, against a real daemon in its own process, for a bounded
 * time (rund.fuzz.seconds, default 20): random bytes, mutated valid requests and random wire-format fields for every
 * RPC (grpc-java with raw byte messages), and random gRPC framing over a raw HTTP/2 connection. No answer may be
 * INTERNAL or UNKNOWN or lack a message; afterwards the daemon still serves, and leaves no job, cgroup or descriptor
 * behind. The seed is printed; {@code -Drund.fuzz.seed=N} replays a run.
 */
class RequestFuzzTest {

    private static final Duration DEFAULT_DURATION = Duration.ofSeconds(20);
    private static final String[] METHODS = {"Start", "Stop", "Status", "Logs", "List"};
    private static final String REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
    private static final int MAX_RANDOM_BYTES = 300;
    private static final int FD_SLACK = 10;

    @Test
    void noRequestIsAnsweredInternalAndNothingLeaks() throws Exception {
        long seed = Long.getLong("rund.fuzz.seed", System.nanoTime());
        Duration duration = Duration.ofSeconds(Long.getLong("rund.fuzz.seconds", DEFAULT_DURATION.toSeconds()));
        System.out.println("RequestFuzzTest seed " + seed + " (replay with -Drund.fuzz.seed=" + seed + "), for " + duration);
        SplittableRandom random = new SplittableRandom(seed);
        List<byte[]>[] seeds = seeds();
        try (DaemonProcess daemon = DaemonProcess.start(Map.of());
             RawGrpc grpc = new RawGrpc(daemon.port(), "alice");
             RawHttp2 http = new RawHttp2(daemon.clientSystem(), daemon.port(), "alice")) {
            grpc.call("List", new byte[0]);
            int fdsBefore = daemon.openFiles();
            Map<String, Integer> codes = new TreeMap<>();
            List<String> failures = new ArrayList<>();
            long end = System.nanoTime() + duration.toNanos();
            int calls = 0;
            while (System.nanoTime() < end && failures.size() < 10) {
                int kind = random.nextInt(10);
                int method = random.nextInt(METHODS.length);
                byte[] message = switch (random.nextInt(3)) {
                    case 0 -> randomBytes(random);
                    case 1 -> mutate(random, seeds[method].get(random.nextInt(seeds[method].size())));
                    default -> randomFields(random);
                };
                String code;
                String description;
                if (kind < 7) {
                    RawGrpc.Answer answer = grpc.call(METHODS[method], message);
                    code = answer.code().name();
                    description = answer.description();
                } else {
                    String path = kind == 9 ? REFLECTION : "/" + RawGrpc.SERVICE + "/" + METHODS[method];
                    RawHttp2.Reply reply = random.nextBoolean()
                            ? http.send(path, garbageFrames(random, message))
                            : http.send(path, frame(message), RawHeader.create("grpc-encoding",
                                    random.nextBoolean() ? "gzip" : "fuzz-" + random.nextInt(100)));
                    code = reply.grpcStatus() == null ? "HTTP " + reply.httpStatus()
                            : Status.fromCodeValue(Integer.parseInt(reply.grpcStatus())).getCode().name();
                    description = reply.grpcMessage();
                }
                calls++;
                codes.merge(code, 1, Integer::sum);
                boolean bad = code.equals("INTERNAL") || code.equals("UNKNOWN") || code.startsWith("HTTP")
                        || (!code.equals("OK") && (description == null || description.isBlank()));
                if (bad) {
                    failures.add("call " + calls + " " + METHODS[method] + " kind " + kind + ": " + code + " " + description
                            + " for " + java.util.HexFormat.of().formatHex(message, 0, Math.min(message.length, 64)));
                }
                if (calls % 200 == 0) {
                    assertTrue(daemon.isAlive(), "the daemon died after " + calls + " calls (seed " + seed + ")");
                }
            }
            System.out.println("RequestFuzzTest: " + calls + " calls; codes " + codes);
            assertEquals(List.of(), failures, "seed " + seed);
            assertTrue(daemon.isAlive(), "seed " + seed);
            assertEquals(Status.Code.OK, grpc.call("List", new byte[0]).code(), "the daemon still serves");
            stopEveryJob(grpc);
            awaitNoJobCgroups(daemon);
            int fdsAfter = daemon.openFiles();
            System.out.println("RequestFuzzTest: daemon descriptors " + fdsBefore + " before, " + fdsAfter + " after");
            assertTrue(fdsAfter <= fdsBefore + FD_SLACK, "descriptors grew from " + fdsBefore + " to " + fdsAfter + " (seed " + seed + ")");
        }
    }

    /** Valid requests of each method, to mutate: commands that cannot exist, so that no mutation starts a job. */
    @SuppressWarnings("unchecked")
    private static List<byte[]>[] seeds() {
        String id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        List<byte[]>[] seeds = new List[METHODS.length];
        seeds[0] = List.of(
                StartRequest.newBuilder().setCommand("/nonexistent/fuzz").addArgs("a").putEnv("K", "V")
                        .setWorkingDirectory("/tmp").build().toByteArray(),
                StartRequest.newBuilder().setCommand("/nonexistent/fuzz").setLimits(Limits.newBuilder()
                        .setMemoryMaxBytes(Int64Value.of(1 << 20)).setPidsMax(Int64Value.of(5))
                        .addIo(IoLimit.newBuilder().setDevice(StringValue.of("8:0")).setRbps(Int64Value.of(1 << 20))))
                        .build().toByteArray());
        seeds[1] = List.of(StopRequest.newBuilder().setJobId(id).build().toByteArray());
        seeds[2] = List.of(StatusRequest.newBuilder().setJobId(id).build().toByteArray());
        seeds[3] = List.of(
                LogsRequest.newBuilder().setJobId(id).setTailLines(5).setTimestamps(true).build().toByteArray(),
                LogsRequest.newBuilder().setJobId(id).setSince(Timestamp.newBuilder().setSeconds(1)).build().toByteArray());
        seeds[4] = List.of(ListRequest.getDefaultInstance().toByteArray());
        return seeds;
    }

    private static byte[] randomBytes(SplittableRandom random) {
        byte[] bytes = new byte[random.nextInt(MAX_RANDOM_BYTES)];
        random.nextBytes(bytes);
        return bytes;
    }

    /** Bit flips, byte changes, insertions, deletions, truncation and duplication of a valid message. */
    private static byte[] mutate(SplittableRandom random, byte[] original) {
        List<Byte> bytes = new ArrayList<>();
        for (byte b : original) {
            bytes.add(b);
        }
        int mutations = 1 + random.nextInt(4);
        for (int i = 0; i < mutations; i++) {
            int at = bytes.isEmpty() ? 0 : random.nextInt(bytes.size());
            switch (random.nextInt(6)) {
                case 0 -> { if (!bytes.isEmpty()) bytes.set(at, (byte) (bytes.get(at) ^ (1 << random.nextInt(8)))); }
                case 1 -> { if (!bytes.isEmpty()) bytes.set(at, (byte) random.nextInt(256)); }
                case 2 -> bytes.add(at, (byte) random.nextInt(256));
                case 3 -> { if (!bytes.isEmpty()) bytes.remove(at); }
                case 4 -> { while (bytes.size() > at) bytes.removeLast(); }
                default -> bytes.addAll(new ArrayList<>(bytes.subList(at, bytes.size())));
            }
        }
        byte[] out = new byte[bytes.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = bytes.get(i);
        }
        return out;
    }

    /** Fields with random numbers (mostly the API's own, 1-7) and random wire types and contents. */
    private static byte[] randomFields(SplittableRandom random) {
        ByteBuffer out = ByteBuffer.allocate(4096);
        int fields = random.nextInt(6);
        for (int i = 0; i < fields && out.remaining() > 600; i++) {
            int number = random.nextInt(4) == 0 ? 1 + random.nextInt(1000) : 1 + random.nextInt(7);
            int wireType = random.nextInt(8);
            putVarint(out, ((long) number << 3) | wireType);
            switch (wireType) {
                case 0 -> putVarint(out, random.nextLong());
                case 1 -> out.putLong(random.nextLong());
                case 2 -> {
                    byte[] content = random.nextBoolean() ? randomFields(random) : randomBytes(random);
                    content = java.util.Arrays.copyOf(content, Math.min(content.length, 500));
                    putVarint(out, random.nextInt(10) == 0 ? content.length + random.nextInt(100) : content.length);
                    out.put(content);
                }
                case 5 -> out.putInt(random.nextInt());
                default -> { } // groups and invalid wire types: whatever follows
            }
        }
        byte[] bytes = new byte[out.position()];
        out.flip().get(bytes);
        return bytes;
    }

    /** The message in gRPC framing gone wrong: random flags, a lying length, bytes cut or added. */
    private static ByteString garbageFrames(SplittableRandom random, byte[] message) {
        ByteBuffer prefix = ByteBuffer.allocate(5);
        prefix.put((byte) (random.nextInt(4) == 0 ? random.nextInt(256) : 0));
        prefix.putInt(switch (random.nextInt(4)) {
            case 0 -> random.nextInt();
            case 1 -> message.length + random.nextInt(16) - 8;
            default -> message.length;
        });
        ByteString body = ByteString.fromArray(prefix.array()).concat(ByteString.fromArray(message));
        return switch (random.nextInt(4)) {
            case 0 -> body.take(random.nextInt(body.size() + 1));
            case 1 -> body.concat(ByteString.fromArray(randomBytes(random)));
            case 2 -> body.concat(body);
            default -> body;
        };
    }

    private static ByteString frame(byte[] message) {
        return ByteString.fromArray(ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message).array());
    }

    private static void putVarint(ByteBuffer out, long value) {
        while ((value & ~0x7FL) != 0) {
            out.put((byte) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        out.put((byte) value);
    }

    private static void stopEveryJob(RawGrpc grpc) throws Exception {
        RawGrpc.Answer list = grpc.call("List", new byte[0]);
        for (JobStatus job : ListResponse.parseFrom(list.messages().getFirst()).getJobsList()) {
            grpc.call("Stop", StopRequest.newBuilder().setJobId(job.getId()).build().toByteArray());
        }
    }

    private static void awaitNoJobCgroups(DaemonProcess daemon) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (daemon.jobCgroups() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(0, daemon.jobCgroups(), "job cgroups left");
    }
}
