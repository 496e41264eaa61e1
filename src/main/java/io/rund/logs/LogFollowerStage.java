package io.rund.logs;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.apache.pekko.dispatch.Dispatchers;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * One follower of a log, as a Pekko Streams source: a cursor that resolves its start point, then reads one batch
 * per demand (from the shared {@link LogReadCache}, so followers at the same place share reads), and, once caught
 * up, registers with the log's {@link NewDataSignal} until the log grows or is sealed. It holds no thread while it
 * waits and at most one batch while its reader is slow, so a slow or stuck follower costs its own cursor and
 * batch and nothing else. It is admitted against the follower caps when it starts and releases everything (its
 * admission, its waiter, its batch) when it completes, fails or is cancelled.
 */
final class LogFollowerStage extends GraphStage<SourceShape<LogRecord>> {

    private static final long UNRESOLVED = -1;

    private record Batch(List<LogRecord> records, Throwable failure) {}

    private record Start(long offset, Throwable failure) {}

    private final Outlet<LogRecord> out = Outlet.create("LogFollower.out");
    private final SourceShape<LogRecord> shape = SourceShape.of(out);
    private final LogStore log;
    private final LogQuery query;
    private final String identity;
    private final long sinceNanos;

    /** {@code identity} null: an internal reader, counted but never capped. */
    LogFollowerStage(LogStore log, LogQuery query, String identity) {
        this.log = log;
        this.query = query;
        this.identity = identity;
        this.sinceNanos = query.start() instanceof LogStart.Since since ? LogFormat.epochNanosSaturated(since.time()) : Long.MIN_VALUE;
    }

    @Override
    public SourceShape<LogRecord> shape() {
        return shape;
    }

    @Override
    public Attributes initialAttributes() {
        return Attributes.name("logFollower");
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
        return new Logic();
    }

    private final class Logic extends GraphStageLogic {

        private LogSpace.FollowerLease lease;
        private Executor io;
        private Executor releaser;
        private AsyncCallback<Start> started;
        private AsyncCallback<Batch> arrived;
        private Runnable waiter;
        private long cursor = UNRESOLVED;
        private long stopAt = Long.MAX_VALUE;
        private List<LogRecord> batch = List.of();
        private int next;
        private boolean reading;
        private boolean waiting;

        Logic() {
            super(shape);
            setHandler(out, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    deliver();
                }
            });
        }

        @Override
        public void preStart() {
            io = materializer().system().dispatchers().lookup(Dispatchers.DefaultBlockingDispatcherId());
            releaser = materializer().executionContext();
            started = createAsyncCallback(this::onStarted);
            arrived = createAsyncCallback(this::onBatch);
            AsyncCallback<Boolean> woke = createAsyncCallback(ignored -> onWake());
            waiter = () -> woke.invoke(Boolean.TRUE);
            try {
                lease = log.space().admit(log, identity);
            } catch (FollowerLimitException e) {
                failStage(e);
                return;
            }
            if (!query.follow()) {
                stopAt = log.size();
            }
            // An offset, or the oldest retained output, is known at once (the first fetch checks it against the
            // retained range); the last lines or a time need a scan of the log, which blocks.
            if (query.start() instanceof LogStart.AtOffset at) {
                onStarted(new Start(at.offset(), null));
                return;
            }
            if (query.start() instanceof LogStart.Oldest) {
                onStarted(new Start(log.firstRetainedOffset(), null));
                return;
            }
            reading = true;
            io.execute(() -> {
                try {
                    started.invoke(new Start(log.startOffset(query.start(), query.streams()), null));
                } catch (Exception e) {
                    started.invoke(new Start(UNRESOLVED, e));
                }
            });
        }

        private void onStarted(Start start) {
            reading = false;
            if (start.failure() != null) {
                failStage(start.failure());
                return;
            }
            cursor = start.offset();
            deliver();
        }

        /** Pushes the next wanted record of the batch if there is demand; fetches more when the batch is used up. */
        private void deliver() {
            while (isAvailable(out) && next < batch.size()) {
                LogRecord record = batch.get(next++);
                if (record.offset() >= stopAt) {
                    next = batch.size();
                } else if (wanted(record)) {
                    push(out, record.endOffset() > stopAt ? cut(record, stopAt) : record);
                }
            }
            if (next >= batch.size()) {
                batch = List.of(); // a slow reader holds no batch it has finished
                next = 0;
                if (isAvailable(out) && !reading && cursor != UNRESOLVED) {
                    fetch();
                }
            }
        }

        private boolean wanted(LogRecord record) {
            return query.wants(record.stream())
                    && (sinceNanos == Long.MIN_VALUE || LogFormat.epochNanos(record.timestamp()) >= sinceNanos);
        }

        private void fetch() {
            while (true) {
                long first = log.firstRetainedOffset();
                if (cursor < first) {
                    failStage(new OffsetDroppedException(cursor, first));
                    return;
                }
                boolean sealed = log.sealed(); // read before size(): once sealed, size() is final
                long end = Math.min(log.size(), stopAt);
                if (cursor < end) {
                    stopWaiting();
                    read();
                    return;
                }
                if (sealed || cursor >= stopAt) {
                    completeStage();
                    return;
                }
                if (waiting) {
                    return; // registered, and the log re-checked since: the next ring wakes us
                }
                waiting = true;
                log.newData().await(waiter, releaser);
            }
        }

        private void read() {
            reading = true;
            CompletableFuture<List<LogRecord>> records = log.space().cache().batch(log, cursor, io);
            if (records.isDone()) {
                onBatch(outcome(records));
            } else {
                records.whenComplete((r, e) -> arrived.invoke(new Batch(r, e)));
            }
        }

        private void onBatch(Batch read) {
            reading = false;
            if (read.failure() != null) {
                Throwable cause = read.failure() instanceof CompletionException c && c.getCause() != null
                        ? c.getCause() : read.failure();
                failStage(cause);
                return;
            }
            if (!read.records().isEmpty()) {
                batch = read.records();
                next = 0;
                cursor = batch.getLast().endOffset();
            }
            deliver();
        }

        private void onWake() {
            waiting = false;
            if (isAvailable(out) && batch.isEmpty() && !reading && cursor != UNRESOLVED) {
                fetch();
            }
        }

        private void stopWaiting() {
            if (waiting) {
                waiting = false;
                log.newData().cancel(waiter);
            }
        }

        @Override
        public void postStop() {
            stopWaiting();
            batch = List.of();
            if (lease != null) {
                lease.release();
            }
        }
    }

    private static Batch outcome(CompletableFuture<List<LogRecord>> done) {
        try {
            return new Batch(done.join(), null);
        } catch (CompletionException | CancellationException e) {
            return new Batch(null, e);
        }
    }

    private static LogRecord cut(LogRecord record, long end) {
        return new LogRecord(record.offset(), record.timestamp(), record.stream(),
                Arrays.copyOf(record.bytes(), (int) (end - record.offset())));
    }
}
