package io.rund.logs;

import java.io.IOException;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Recently read batches of log records, shared by every follower of every log of one daemon, within a byte
 * budget (oldest batch out first). A batch is keyed by its log and its first offset, and ends where the log's
 * next index entry starts (or where the log ended when it was read), so followers at the same place read the same
 * batches: a thousand followers of a job cost one positional read and one copy of each byte, and a follower that
 * starts elsewhere joins the same batch boundaries after one batch. Batches are immutable: a batch read when
 * the log was shorter is still a correct batch, just a shorter one. Concurrent requests for the same batch
 * share one read.
 */
final class LogReadCache {

    private record Key(LogStore log, long offset) {}

    private record Cached(Key key, CompletableFuture<List<LogRecord>> batch, long bytes) {}

    private final long budgetBytes;
    private final ConcurrentHashMap<Key, CompletableFuture<List<LogRecord>>> batches = new ConcurrentHashMap<>();
    private final Queue<Cached> arrivalOrder = new ConcurrentLinkedQueue<>();
    private final AtomicLong cachedBytes = new AtomicLong();

    LogReadCache(long budgetBytes) {
        this.budgetBytes = budgetBytes;
    }

    /**
     * The batch of {@code log} starting at {@code offset} (which must be below the log's size), from the cache or
     * read on {@code io}. Fails with {@link OffsetDroppedException} if the offset was dropped before it was read.
     */
    CompletableFuture<List<LogRecord>> batch(LogStore log, long offset, Executor io) {
        if (budgetBytes == 0) {
            return readOn(io, log, offset);
        }
        Key key = new Key(log, offset);
        CompletableFuture<List<LogRecord>> cached = batches.get(key);
        if (cached != null) {
            return cached;
        }
        CompletableFuture<List<LogRecord>> mine = new CompletableFuture<>();
        cached = batches.putIfAbsent(key, mine);
        if (cached != null) {
            return cached;
        }
        readOn(io, log, offset).whenComplete((records, failure) -> {
            if (failure != null) {
                batches.remove(key, mine);
                mine.completeExceptionally(failure);
                return;
            }
            mine.complete(records);
            long bytes = records.stream().mapToLong(r -> r.bytes().length).sum();
            arrivalOrder.add(new Cached(key, mine, bytes));
            cachedBytes.addAndGet(bytes);
            evictOverBudget();
        });
        return mine;
    }

    long cachedBytes() {
        return cachedBytes.get();
    }

    private void evictOverBudget() {
        while (cachedBytes.get() > budgetBytes) {
            Cached oldest = arrivalOrder.poll();
            if (oldest == null) {
                return;
            }
            batches.remove(oldest.key(), oldest.batch());
            cachedBytes.addAndGet(-oldest.bytes());
        }
    }

    private static CompletableFuture<List<LogRecord>> readOn(Executor io, LogStore log, long offset) {
        CompletableFuture<List<LogRecord>> read = new CompletableFuture<>();
        io.execute(() -> {
            try {
                read.complete(log.readBatch(offset));
            } catch (IOException | RuntimeException e) {
                read.completeExceptionally(e);
            }
        });
        return read;
    }
}
