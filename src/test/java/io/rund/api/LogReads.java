package io.rund.api;

import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Test helpers around the Logs RPC: read a whole stream, the output of a job, known job outputs. */
public final class LogReads {

    /** Only guards against a hang; nothing here is a performance claim. */
    public static final Duration HANG_GUARD = Duration.ofMinutes(3);
    private static final Duration POLL = Duration.ofMillis(20);

    private LogReads() {}

    /** A whole Logs stream: its data chunks and its trailer (null if it ended without one). */
    public record Stream(List<LogData> chunks, JobStatus trailer) {

        public String text() {
            return text(null);
        }

        /** The bytes of one stream (null: both, as received) as UTF-8 text. */
        public String text(LogStream only) {
            return new String(bytes(only), StandardCharsets.UTF_8);
        }

        public byte[] bytes(LogStream only) {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (LogData chunk : chunks) {
                if (only == null || chunk.getStream() == only) {
                    all.writeBytes(chunk.getData().toByteArray());
                }
            }
            return all.toByteArray();
        }

        public long end() {
            return chunks.isEmpty() ? -1 : chunks.getLast().getOffset() + chunks.getLast().getData().size();
        }
    }

    public static Stream read(RundClient client, LogsRequest request) {
        List<LogData> chunks = new ArrayList<>();
        Iterator<LogChunk> stream = client.logs(request);
        while (stream.hasNext()) {
            LogChunk chunk = stream.next();
            if (chunk.hasTrailer()) {
                if (stream.hasNext()) {
                    throw new AssertionError("a chunk after the trailer: " + stream.next());
                }
                return new Stream(chunks, chunk.getTrailer().getStatus());
            }
            chunks.add(chunk.getData());
        }
        return new Stream(chunks, null);
    }

    public static LogsRequest.Builder request(String jobId) {
        return LogsRequest.newBuilder().setJobId(jobId);
    }

    public static String start(RundClient client, String shellCommand) {
        return client.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs(shellCommand).build()).getJobId();
    }

    public static JobStatus status(RundClient client, String jobId) {
        return client.status(StatusRequest.newBuilder().setJobId(jobId).build()).getStatus();
    }

    /** Waits (polling Status) until the job has ended, and returns its final status. */
    public static JobStatus awaitEnd(RundClient client, String jobId) throws InterruptedException {
        Instant giveUp = Instant.now().plus(HANG_GUARD);
        while (Instant.now().isBefore(giveUp)) {
            JobStatus status = client.status(StatusRequest.newBuilder().setJobId(jobId).build()).getStatus();
            if (status.getState() == JobState.JOB_STATE_EXITED || status.getState() == JobState.JOB_STATE_FAILED_TO_START) {
                return status;
            }
            Thread.sleep(POLL);
        }
        throw new AssertionError("job " + jobId + " did not end within " + HANG_GUARD);
    }

    /** What {@code seq -f PREFIX%0WIDTHg FIRST LAST} prints (integers below 10^6, where %g prints them whole). */
    public static byte[] seq(String prefix, int width, int first, int last) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String format = prefix + "%0" + width + "d\n";
        for (int i = first; i <= last; i++) {
            out.writeBytes(String.format(format, i).getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    /** Waits until {@code condition} holds (polling), failing with {@code what} after {@link #HANG_GUARD}. */
    public static void until(BooleanSupplier condition, String what) throws InterruptedException {
        Instant giveUp = Instant.now().plus(HANG_GUARD);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(giveUp)) {
                throw new AssertionError("not within " + HANG_GUARD + ": " + what);
            }
            Thread.sleep(POLL);
        }
    }

    public static StatusRuntimeException failure(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("expected the call to fail");
    }
}
