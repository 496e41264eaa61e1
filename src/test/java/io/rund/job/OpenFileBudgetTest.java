package io.rund.job;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What fits under an open-file limit: three descriptors per job after rund's own reserve and the log writers'. */
class OpenFileBudgetTest {

    @Test
    void threeDescriptorsPerJobAfterTheReserveAndTheLogWriters() {
        assertEquals((20_000 - 1_024 - 1_024) / 3, OpenFileBudget.jobsFitting(20_000));
        assertEquals(0, OpenFileBudget.jobsFitting(2_000));
        assertEquals(Integer.MAX_VALUE, OpenFileBudget.jobsFitting(Long.MAX_VALUE));
    }
}
