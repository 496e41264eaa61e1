package io.rund.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.rund.job.JobRegistry;
import io.rund.proto.v1.JobControllerPowerApi;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.DeleteResponse;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogTrailer;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StartResponse;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StatusResponse;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.StopResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The benchmark's baseline: rund's API with Logs served the way the original jobworker served followers. Each
 * follower opens the job's log file itself (one file descriptor per follower) and polls it: it reads whatever is
 * new, and when it finds nothing it sleeps {@code pollInterval} (on a timer, not a thread) and looks again. No
 * shared reads, no new-data signal. Every other call is rund's own.
 */
final class PollingLogService implements JobControllerPowerApi {

    private static final int FILE_HEADER_BYTES = 24;
    private static final int RECORD_HEADER_BYTES = 24;
    /** Each follower's own read buffer: Go's io.Copy size, as a jobworker follower would use. */
    private static final int READ_BYTES = 32 * 1024;
    private static final byte KIND_SEAL = 1;
    private static final int STDERR_FD = 2;
    private static final Set<String> ADMIN = Set.of("DNS:admin.example");
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(30);

    private final JobControllerPowerApi rund;
    private final ActorRef<JobRegistry.Command> registry;
    private final ActorSystem<?> system;
    private final Duration pollInterval;
    private final Executor io;

    PollingLogService(JobControllerPowerApi rund, ActorRef<JobRegistry.Command> registry, ActorSystem<?> system, Duration pollInterval) {
        this.rund = rund;
        this.registry = registry;
        this.system = system;
        this.pollInterval = pollInterval;
        this.io = system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking());
    }

    @Override
    public CompletionStage<StartResponse> start(StartRequest in, Metadata metadata) {
        return rund.start(in, metadata);
    }

    @Override
    public CompletionStage<StopResponse> stop(StopRequest in, Metadata metadata) {
        return rund.stop(in, metadata);
    }

    @Override
    public CompletionStage<StatusResponse> status(StatusRequest in, Metadata metadata) {
        return rund.status(in, metadata);
    }

    @Override
    public CompletionStage<ListResponse> list(ListRequest in, Metadata metadata) {
        return rund.list(in, metadata);
    }

    @Override
    public CompletionStage<DeleteResponse> delete(DeleteRequest in, Metadata metadata) {
        return rund.delete(in, metadata);
    }

    @Override
    public CompletionStage<io.rund.proto.v1.NodesResponse> nodes(io.rund.proto.v1.NodesRequest in, Metadata metadata) {
        return rund.nodes(in, metadata);
    }

    @Override
    public CompletionStage<io.rund.proto.v1.UpdateResponse> update(io.rund.proto.v1.UpdateRequest in, Metadata metadata) {
        return rund.update(in, metadata);
    }

    @Override
    public org.apache.pekko.stream.javadsl.Source<io.rund.proto.v1.StatsSample, org.apache.pekko.NotUsed> stats(
            io.rund.proto.v1.StatsRequest in, Metadata metadata) {
        return rund.stats(in, metadata);
    }

    @Override
    public CompletionStage<io.rund.proto.v1.SignalResponse> signal(io.rund.proto.v1.SignalRequest in, Metadata metadata) {
        return rund.signal(in, metadata);
    }

    @Override
    public CompletionStage<io.rund.proto.v1.PauseResponse> pause(io.rund.proto.v1.PauseRequest in, Metadata metadata) {
        return rund.pause(in, metadata);
    }

    @Override
    public CompletionStage<io.rund.proto.v1.ResumeResponse> resume(io.rund.proto.v1.ResumeRequest in, Metadata metadata) {
        return rund.resume(in, metadata);
    }

    @Override
    public Source<io.rund.proto.v1.JobEvent, NotUsed> watch(io.rund.proto.v1.WatchRequest in, Metadata metadata) {
        return rund.watch(in, metadata);
    }

    @Override
    public Source<LogChunk, NotUsed> logs(LogsRequest in, Metadata metadata) {
        CompletionStage<Source<LogChunk, NotUsed>> opened = AskPattern.<JobRegistry.Command, JobRegistry.LogResult>ask(registry,
                        replyTo -> new JobRegistry.OpenLog(in.getJobId(), ADMIN, replyTo), ASK_TIMEOUT, system.scheduler())
                .thenApply(result -> result instanceof JobRegistry.LogAvailable available
                        ? follow(available.log().path(), in.getJobId(), in.getTimestamps())
                        : Source.failed(new GrpcServiceException(Status.NOT_FOUND)));
        return Source.completionStageSource(opened).mapMaterializedValue(ignored -> NotUsed.notUsed());
    }

    /** One follower's own file handle and cursor: records from the start, polling at the end, until the seal. */
    private Source<LogChunk, NotUsed> follow(Path log, String jobId, boolean timestamps) {
        return Source.unfoldResourceAsync(
                () -> CompletableFuture.supplyAsync(() -> new Cursor(log), io),
                cursor -> next(cursor, jobId, timestamps),
                cursor -> CompletableFuture.supplyAsync(() -> {
                    cursor.close();
                    return org.apache.pekko.Done.getInstance();
                }, io))
                .mapConcat(chunks -> chunks);
    }

    private CompletionStage<Optional<List<LogChunk>>> next(Cursor cursor, String jobId, boolean timestamps) {
        if (cursor.ended) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return CompletableFuture.supplyAsync(() -> cursor.readNew(timestamps), io).thenCompose(chunks -> {
            if (cursor.ended) {
                chunks.add(LogChunk.newBuilder().setTrailer(LogTrailer.newBuilder()
                        .setStatus(JobStatus.newBuilder().setId(jobId))).build());
                return CompletableFuture.completedFuture(Optional.of(chunks));
            }
            if (!chunks.isEmpty()) {
                return CompletableFuture.completedFuture(Optional.of(chunks));
            }
            return Patterns.after(pollInterval, system.classicSystem().scheduler(), system.executionContext(),
                    () -> CompletableFuture.completedFuture(Optional.of(chunks)));
        });
    }

    /** A follower's file descriptor and position in the file. */
    private static final class Cursor {
        private final FileChannel file;
        private final ByteBuffer buffer = ByteBuffer.allocate(READ_BYTES);
        private long position = FILE_HEADER_BYTES;
        boolean ended;

        Cursor(Path log) {
            try {
                file = FileChannel.open(log, StandardOpenOption.READ);
            } catch (IOException e) {
                throw new IllegalStateException("cannot open " + log, e);
            }
        }

        /** The whole records written since the last call (none at the end of the file). */
        List<LogChunk> readNew(boolean timestamps) {
            List<LogChunk> chunks = new ArrayList<>();
            try {
                buffer.clear();
                int read = file.read(buffer, position);
                buffer.flip();
                while (read > 0 && buffer.remaining() >= RECORD_HEADER_BYTES) {
                    int at = buffer.position();
                    long offset = buffer.getLong(at);
                    long nanos = buffer.getLong(at + 8);
                    int length = buffer.getInt(at + 16);
                    byte kind = buffer.get(at + 20);
                    byte fd = buffer.get(at + 21);
                    if (kind == KIND_SEAL) {
                        ended = true;
                        break;
                    }
                    ByteString payload;
                    if (buffer.remaining() >= RECORD_HEADER_BYTES + length) {
                        payload = ByteString.copyFrom(buffer.array(), at + RECORD_HEADER_BYTES, length);
                    } else if (at == 0 && RECORD_HEADER_BYTES + length > buffer.capacity()) {
                        payload = readLarge(position + RECORD_HEADER_BYTES, length); // larger than the buffer
                        if (payload == null) {
                            break;
                        }
                    } else {
                        break; // the rest of this record is not written yet, or not in this read
                    }
                    LogData.Builder data = LogData.newBuilder()
                            .setStream(fd == STDERR_FD ? LogStream.LOG_STREAM_STDERR : LogStream.LOG_STREAM_STDOUT)
                            .setOffset(offset)
                            .setData(payload);
                    if (timestamps) {
                        data.setTimestamp(Timestamp.newBuilder().setSeconds(Math.floorDiv(nanos, 1_000_000_000L))
                                .setNanos((int) Math.floorMod(nanos, 1_000_000_000L)));
                    }
                    chunks.add(LogChunk.newBuilder().setData(data).build());
                    position += RECORD_HEADER_BYTES + length;
                    if (buffer.remaining() < RECORD_HEADER_BYTES + length) {
                        break; // a large record was read on its own; read on from the next position next time
                    }
                    buffer.position(at + RECORD_HEADER_BYTES + length);
                }
                return chunks;
            } catch (IOException e) {
                throw new IllegalStateException("cannot read a log", e);
            }
        }

        /** A whole payload of {@code length} bytes at {@code at}, or null if it is not all written yet. */
        private ByteString readLarge(long at, int length) throws IOException {
            ByteBuffer large = ByteBuffer.allocate(length);
            while (large.hasRemaining()) {
                if (file.read(large, at + large.position()) <= 0) {
                    return null;
                }
            }
            return ByteString.copyFrom(large.array());
        }

        void close() {
            try {
                file.close();
            } catch (IOException e) {
                throw new IllegalStateException("cannot close a log", e);
            }
        }
    }
}
