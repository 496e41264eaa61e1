package io.rund.job;

import com.github.f4b6a3.ulid.Ulid;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Job ids carry their node's index and stay valid, time-ordered ULIDs. */
final class JobIdsTest {

    @Test
    void anIdCarriesItsNodesIndexAndStaysAValidUlid() {
        for (int index : new int[] {1, 2, 255, 256, 40_000, 65_535}) {
            String id = JobIds.mint(index);
            assertEquals(Ulid.ULID_CHARS, id.length());
            assertTrue(Ulid.isValid(id), id);
            assertEquals(id, Ulid.from(id).toString(), "canonical upper-case form");
            assertEquals(index, JobIds.nodeIndex(id), id);
        }
    }

    @Test
    void idsOfOneNodeStayInCreationOrder() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            ids.add(JobIds.mint(7));
        }
        List<String> sorted = new ArrayList<>(ids);
        sorted.sort(null);
        assertEquals(ids, sorted);
        assertEquals(ids.size(), ids.stream().distinct().count());
    }

    @Test
    void idsOfDifferentNodesSortByTimeFirst() throws InterruptedException {
        String earlier = JobIds.mint(65_535);
        Thread.sleep(2); // the next millisecond: the timestamp, ahead of the index, decides
        String later = JobIds.mint(1);
        assertTrue(earlier.compareTo(later) < 0, earlier + " vs " + later);
    }
}
