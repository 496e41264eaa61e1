package io.rund.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/** Runs the same loop on N platform threads that start together, and reports the first failure of any of them. */
public final class Concurrently {

    /** The loop body of thread {@code index}. */
    public interface Worker {
        void run(int index) throws Exception;
    }

    private Concurrently() {}

    /** Starts {@code threads} threads, releases them at once, waits for all, and rethrows the first failure. */
    public static void run(int threads, Worker worker) throws Exception {
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Exception> failure = new AtomicReference<>();
        List<Thread> started = new ArrayList<>(threads);
        for (int i = 0; i < threads; i++) {
            int index = i;
            started.add(Thread.ofPlatform().name("bench-worker-" + i).start(() -> {
                ready.countDown();
                try {
                    go.await();
                    worker.run(index);
                } catch (Exception e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        ready.await();
        go.countDown();
        for (Thread thread : started) {
            thread.join();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }
}
