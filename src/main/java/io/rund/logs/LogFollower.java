package io.rund.logs;

import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.dispatch.Dispatchers;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One follower of a log: a cursor that replays from an offset and then, if following, waits on the log's
 * {@link NewDataSignal} until the log is sealed. It reads only when its stream pulls, one bounded batch at a
 * time, on the blocking-I/O dispatcher; while it waits it holds no thread. So a slow follower costs its own
 * cursor and nothing else.
 */
final class LogFollower {

    /** Most payload bytes read (and held) per pull. */
    static final int BATCH_BYTES = 256 * 1024;
    private static final long NO_STOP = Long.MAX_VALUE;

    private final LogStore store;
    private final Executor io;
    private final long stopAt;

    private LogFollower(LogStore store, Executor io, long stopAt) {
        this.store = store;
        this.io = io;
        this.stopAt = stopAt;
    }

    /**
     * The records of {@code store} from {@code fromOffset}: up to the end of the log when the stream starts if
     * {@code follow} is false, else until the log is sealed.
     */
    static Source<LogRecord, NotUsed> source(LogStore store, long fromOffset, boolean follow) {
        if (fromOffset < 0) {
            throw new IllegalArgumentException("fromOffset must be >= 0, was " + fromOffset);
        }
        return Source.fromMaterializer((materializer, attributes) -> {
                    Executor io = materializer.system().dispatchers().lookup(Dispatchers.DefaultBlockingDispatcherId());
                    LogFollower follower = new LogFollower(store, io, follow ? NO_STOP : store.size());
                    return Source.unfoldAsync(fromOffset, follower::next).mapConcat(batch -> batch);
                })
                .mapMaterializedValue(ignored -> NotUsed.getInstance());
    }

    /** The next batch after {@code cursor}: records, or an empty batch after a wake-up, or the end. */
    private CompletionStage<Optional<Pair<Long, List<LogRecord>>>> next(long cursor) {
        boolean sealed = store.sealed(); // read before size(): once sealed, size() is final
        long end = Math.min(store.size(), stopAt);
        if (cursor < end) {
            return readBatch(cursor, (int) Math.min(BATCH_BYTES, end - cursor));
        }
        if (sealed || cursor >= stopAt) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        CompletableFuture<Void> rung = store.newData().next(io);
        if (store.sealed() || store.size() > cursor) {
            return CompletableFuture.completedFuture(Optional.of(Pair.create(cursor, List.of())));
        }
        return rung.thenApply(ignored -> Optional.of(Pair.create(cursor, List.of())));
    }

    private CompletionStage<Optional<Pair<Long, List<LogRecord>>>> readBatch(long cursor, int maxBytes) {
        CompletableFuture<Optional<Pair<Long, List<LogRecord>>>> batch = new CompletableFuture<>();
        io.execute(() -> {
            try {
                List<LogRecord> records = store.read(cursor, maxBytes);
                long next = records.isEmpty() ? cursor : records.getLast().endOffset();
                batch.complete(Optional.of(Pair.create(next, records)));
            } catch (IOException | RuntimeException e) {
                batch.completeExceptionally(e);
            }
        });
        return batch;
    }
}
