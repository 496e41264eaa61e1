package io.rund.job;

import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Predicate;

/**
 * This daemon's recent job events in a bounded ring, for Watch streams. The registry appends (one short synchronized
 * step, never blocking its thread); each watcher's stream reads on from its own cursor only when its client asks for
 * more (HTTP/2 flow control), so a slow watcher costs no memory: once the ring has moved past its cursor its stream
 * fails with {@link EventWindowExceededException}. Sequences start at the daemon's start time in microseconds and grow
 * by one per event, so a later daemon's are above an earlier one's and a client resuming with a sequence from another
 * daemon is told its window was exceeded instead of silently mixing them.
 */
public final class EventJournal {

    private final JobEvent[] ring;
    private final Executor wakeUps;
    private final int batch;
    /** The first sequence this journal issued (or will issue). */
    private final long first;
    /** The sequence of the next event. */
    private long next;
    /** Completed (and replaced) at each append: what waiting watchers wait on. */
    private CompletableFuture<Void> appended = new CompletableFuture<>();

    /** {@code wakeUps}: where waiting watchers read on after an append, so that the appender's thread only signals. */
    public EventJournal(EventSettings settings, Instant start, Executor wakeUps) {
        this.wakeUps = wakeUps;
        this.ring = new JobEvent[settings.ringSize()];
        this.batch = settings.batch();
        long micros = Math.multiplyExact(start.getEpochSecond(), 1_000_000L) + start.getNano() / 1_000;
        this.first = Math.max(1, micros);
        this.next = first;
    }

    /** Appends an event; its sequence is the next one. */
    public JobEvent publish(JobEventType type, JobStatus status, Set<String> owner, Instant time, String detail) {
        CompletableFuture<Void> wake;
        JobEvent event;
        synchronized (this) {
            event = new JobEvent(next, type, status.id(), status, time, detail, owner);
            ring[slot(next)] = event;
            next++;
            wake = appended;
            appended = new CompletableFuture<>();
        }
        wake.complete(null);
        return event;
    }

    /** The sequence of the last event appended (one less than the first if none yet). */
    public synchronized long lastSequence() {
        return next - 1;
    }

    /** The sequence of the oldest event still held (the next one's if none yet). */
    public synchronized long oldestRetained() {
        return Math.max(first, next - ring.length);
    }

    /** {@code after} meaning "every event the ring still holds" (no sequence is 0). */
    public static final long OLDEST_KEPT = 0;

    /**
     * The events after {@code after} (absent: only those appended from now on; {@link #OLDEST_KEPT}: from the oldest
     * still held) that {@code wanted} keeps, as they come;
     * the source never completes by itself. It fails with {@link EventWindowExceededException} at once if the events
     * after {@code after} are gone or were never this daemon's, or later if its reader falls behind the ring.
     */
    public Source<JobEvent, NotUsed> follow(Optional<Long> after, Predicate<JobEvent> wanted) {
        long from;
        synchronized (this) {
            from = after.map(sequence -> sequence == OLDEST_KEPT ? Math.max(first, next - ring.length) - 1 : sequence)
                    .orElse(next - 1);
        }
        check(from);
        return Source.unfoldAsync(from, cursor -> read(cursor).thenApply(events -> Optional.of(
                        Pair.create(events.isEmpty() ? cursor : events.getLast().sequence(), events))))
                .mapError(CompletionException.class, e -> e.getCause() != null ? e.getCause() : e)
                .mapConcat(events -> events.stream().filter(wanted).toList());
    }

    /** Fails if the events after {@code after} cannot all be delivered. */
    private synchronized void check(long after) {
        long oldest = Math.max(first, next - ring.length);
        if (after + 1 < oldest) {
            throw new EventWindowExceededException(after < first - 1
                    ? "sequence " + after + " is not of this daemon's events (they start at " + first
                            + "; it restarted, or is another host): watch again without after_sequence"
                    : "the events after sequence " + after + " are no longer kept (rund.events.ring-size " + ring.length
                            + "): the oldest kept is " + oldest, oldest);
        }
        if (after >= next) {
            throw new EventWindowExceededException("sequence " + after + " is ahead of this daemon's last event ("
                    + (next - 1) + "): it is another daemon's; watch again without after_sequence", oldest);
        }
    }

    /** Up to a batch of events after {@code cursor}, at once if there are some, else once one is appended. */
    private CompletionStage<List<JobEvent>> read(long cursor) {
        CompletableFuture<Void> wait;
        synchronized (this) {
            try {
                check(cursor);
            } catch (EventWindowExceededException e) {
                return CompletableFuture.failedFuture(e);
            }
            if (cursor + 1 < next) {
                long end = Math.min(next, cursor + 1 + batch);
                List<JobEvent> events = new ArrayList<>((int) (end - cursor - 1));
                for (long sequence = cursor + 1; sequence < end; sequence++) {
                    events.add(ring[slot(sequence)]);
                }
                return CompletableFuture.completedFuture(events);
            }
            wait = appended;
        }
        return wait.thenComposeAsync(ignored -> read(cursor), wakeUps);
    }

    private int slot(long sequence) {
        return (int) ((sequence - first) % ring.length);
    }
}
