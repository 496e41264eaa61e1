package io.rund.job;

import io.rund.linux.AccountIds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-job id allocator over real passwd and group files: never two holders, LRU reuse, skips, exhaustion. */
class IdentityPoolTest {

    private static final String PASSWD = "root:x:0:0::/root:/bin/sh\nsvc:x:70002:70009::/:/bin/sh\n";
    private static final String GROUP = "root:x:0:\nstaff:x:70004:\n";

    @TempDir
    Path dir;

    private AccountIds accounts() throws Exception {
        return new AccountIds(Files.writeString(dir.resolve("passwd"), PASSWD), Files.writeString(dir.resolve("group"), GROUP));
    }

    @Test
    void skipsEveryIdTheAccountFilesNameAsUserOrGroup() throws Exception {
        IdentityPool pool = new IdentityPool(70000, 70010, accounts());
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ids.add(pool.acquire());
        }
        // 70002 is svc's uid, 70009 its primary gid, 70004 the staff group.
        assertEquals(List.of(70000, 70001, 70003, 70005, 70006, 70007, 70008, 70010), ids);
        assertThrows(IdentityPool.Exhausted.class, pool::acquire);
    }

    @Test
    void reusesTheLeastRecentlyReleasedIdOnlyOnceNoneIsFresh() throws Exception {
        IdentityPool pool = new IdentityPool(80000, 80003, accounts());
        int a = pool.acquire();
        int b = pool.acquire();
        pool.release(b);
        pool.release(a);
        assertEquals(80002, pool.acquire(), "ids never used come first");
        assertEquals(80003, pool.acquire());
        assertEquals(b, pool.acquire(), "then the one released longest ago");
        assertEquals(a, pool.acquire());
    }

    @Test
    void anExhaustedRangeSaysWhatIsHeldAndHowToWidenIt() throws Exception {
        IdentityPool pool = new IdentityPool(90000, 90001, accounts());
        pool.acquire();
        pool.acquire();
        IdentityPool.Exhausted e = assertThrows(IdentityPool.Exhausted.class, pool::acquire);
        assertTrue(e.getMessage().contains("90000-90001") && e.getMessage().contains("rund.jobs.identities")
                && e.getMessage().contains("2 now") && e.getMessage().contains("widen the range"), e.getMessage());
        pool.release(90001);
        assertEquals(90001, pool.acquire(), "a released id serves again");
    }

    @Test
    void anIdAnAccountTakesAfterItsReleaseIsNotHandedOutAgain() throws Exception {
        AccountIds accounts = accounts();
        IdentityPool pool = new IdentityPool(95000, 95000, accounts);
        int id = pool.acquire();
        pool.release(id);
        Files.writeString(dir.resolve("passwd"), PASSWD + "late:x:95000:95000::/:/bin/sh\n");
        assertThrows(IdentityPool.Exhausted.class, pool::acquire);
    }

    @Test
    void releasingAnIdNotHeldIsABug() throws Exception {
        IdentityPool pool = new IdentityPool(96000, 96001, accounts());
        assertThrows(IllegalStateException.class, () -> pool.release(96000));
    }

    @Test
    void neverGivesOneIdToTwoHoldersAtOnce() throws Exception {
        int threads = 8;
        int rounds = 2_000;
        IdentityPool pool = new IdentityPool(100_000, 100_015, accounts());
        Set<Integer> holding = ConcurrentHashMap.newKeySet();
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Integer>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(executor.submit(() -> {
                    go.await();
                    int clashes = 0;
                    for (int i = 0; i < rounds; i++) {
                        int id = pool.acquire();
                        if (!holding.add(id)) {
                            clashes++;
                        }
                        Thread.onSpinWait();
                        holding.remove(id);
                        pool.release(id);
                    }
                    return clashes;
                }));
            }
            go.countDown();
            Set<Integer> clashes = new HashSet<>();
            for (Future<Integer> worker : workers) {
                clashes.add(worker.get(60, TimeUnit.SECONDS));
            }
            assertEquals(Set.of(0), clashes, "an id was held by two threads at once");
            assertEquals(0, pool.held());
        } finally {
            executor.shutdownNow();
        }
    }
}
