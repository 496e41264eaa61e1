package io.rund.job;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What fits under an open-file limit: four descriptors per job after rund's own reserve. */
class OpenFileBudgetTest {

    @Test
    void fourDescriptorsPerJobAfterTheReserve() {
        assertEquals((20_000 - 1_024) / 4, OpenFileBudget.jobsFitting(20_000));
        assertEquals(0, OpenFileBudget.jobsFitting(1_000));
        assertEquals(Integer.MAX_VALUE, OpenFileBudget.jobsFitting(Long.MAX_VALUE));
    }
}
