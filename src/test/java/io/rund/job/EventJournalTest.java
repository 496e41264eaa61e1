package io.rund.job;

import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Watch journal read through real Pekko streams: a reader resuming after sequence N gets exactly the events after
 * it, in order; one asking for more than the ring holds, or for another daemon's sequence, is refused explicitly.
 */
class EventJournalTest {

    private static final int RING = 8;
    private static final Instant START = Instant.parse("2026-12-05T12:00:00Z");
    private static ActorSystem system;
    private static Materializer materializer;

    @BeforeAll
    static void start() {
        system = ActorSystem.create("event-journal-test");
        materializer = Materializer.matFromSystem(system);
    }

    @AfterAll
    static void stop() {
        system.terminate();
    }

    private static EventJournal journal() {
        return new EventJournal(new EventSettings(RING, 3), START, ForkJoinPool.commonPool());
    }

    private static void publish(EventJournal journal, int count) {
        for (int i = 0; i < count; i++) {
            journal.publish(JobEventType.STARTED, JobActor.initialStatus("JOB" + i, JobSpec.of("true"), START),
                    Set.of("DNS:alice"), START, "");
        }
    }

    private static List<Long> take(EventJournal journal, Optional<Long> after, int count) throws Exception {
        return journal.follow(after, event -> true).take(count).map(JobEvent::sequence)
                .runWith(Sink.seq(), materializer).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void aResumeAfterNDeliversExactlyTheRest() throws Exception {
        EventJournal journal = journal();
        long first = journal.oldestRetained();
        assertEquals(START.getEpochSecond() * 1_000_000, first, "sequences start at the daemon's start in microseconds");
        publish(journal, 6);
        List<Long> seen = take(journal, Optional.of(first - 1), 4);
        assertEquals(LongStream.range(first, first + 4).boxed().toList(), seen);
        List<Long> rest = take(journal, Optional.of(seen.getLast()), 2);
        assertEquals(List.of(first + 4, first + 5), rest);
    }

    @Test
    void aReaderWaitsForNewEvents() throws Exception {
        EventJournal journal = journal();
        publish(journal, 2);
        var later = journal.follow(Optional.empty(), event -> true).take(2).map(JobEvent::sequence)
                .runWith(Sink.seq(), materializer).toCompletableFuture();
        publish(journal, 2);
        long last = journal.lastSequence();
        assertEquals(List.of(last - 1, last), later.get(30, TimeUnit.SECONDS), "only events after the watch began");
    }

    @Test
    void aResumePastTheRingIsRefusedNamingTheOldestKept() {
        EventJournal journal = journal();
        long first = journal.oldestRetained();
        publish(journal, RING + 3);
        EventWindowExceededException e = assertThrows(EventWindowExceededException.class,
                () -> journal.follow(Optional.of(first), event -> true));
        assertEquals(first + 3, e.oldestRetained());
        assertTrue(e.getMessage().contains("rund.events.ring-size"), e.getMessage());
    }

    @Test
    void aSlowReaderThatFallsOffTheRingFails() throws Exception {
        EventJournal journal = journal();
        long first = journal.oldestRetained();
        publish(journal, 2);
        var reader = journal.follow(Optional.of(first - 1), event -> true)
                .runWith(Sink.<JobEvent>queue(), materializer);
        assertEquals(first, reader.pull().toCompletableFuture().get(30, TimeUnit.SECONDS).orElseThrow().sequence());
        publish(journal, 10 * RING); // far more than the reader may have read ahead of its consumer
        ExecutionException failed = assertThrows(ExecutionException.class, () -> {
            for (int i = 0; i < 12 * RING; i++) {
                reader.pull().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
        });
        assertInstanceOf(EventWindowExceededException.class, failed.getCause());
    }

    @Test
    void anotherDaemonsSequenceIsRefused() {
        EventJournal journal = journal();
        publish(journal, 2);
        EventJournal restarted = new EventJournal(new EventSettings(RING, 3), START.plusSeconds(60), ForkJoinPool.commonPool());
        EventWindowExceededException older = assertThrows(EventWindowExceededException.class,
                () -> restarted.follow(Optional.of(journal.lastSequence()), event -> true));
        assertTrue(older.getMessage().contains("not of this daemon"), older.getMessage());
        EventWindowExceededException ahead = assertThrows(EventWindowExceededException.class,
                () -> journal.follow(Optional.of(restarted.lastSequence() + 5), event -> true));
        assertTrue(ahead.getMessage().contains("ahead"), ahead.getMessage());
    }
}
