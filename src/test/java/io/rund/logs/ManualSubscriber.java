package io.rund.logs;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/** A subscriber that asks for exactly what the test asks for, and records what it got: elements, error, end. */
final class ManualSubscriber<T> implements Subscriber<T> {

    private static final long HANG_GUARD_SECONDS = 60;
    private static final Object COMPLETE = new Object();

    private final CompletableFuture<Subscription> subscription = new CompletableFuture<>();
    private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();

    @Override
    public void onSubscribe(Subscription s) {
        subscription.complete(s);
    }

    @Override
    public void onNext(T element) {
        events.add(element);
    }

    @Override
    public void onError(Throwable t) {
        events.add(t);
    }

    @Override
    public void onComplete() {
        events.add(COMPLETE);
    }

    void request(long n) throws Exception {
        subscription.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS).request(n);
    }

    void cancel() throws Exception {
        subscription.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS).cancel();
    }

    /** The next event: an element, a Throwable (the stream failed), or {@code null} (it completed). */
    @SuppressWarnings("unchecked")
    Object next() throws InterruptedException {
        Object event = events.poll(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
        if (event == null) {
            throw new AssertionError("no event within " + HANG_GUARD_SECONDS + " s");
        }
        return event == COMPLETE ? null : event;
    }
}
