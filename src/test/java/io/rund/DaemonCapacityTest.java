package io.rund;

import com.typesafe.config.ConfigFactory;
import io.rund.job.JobSettings;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** rund.jobs.max-active is lowered to what the open-file limit holds, never raised. */
class DaemonCapacityTest {

    private static final JobSettings CONFIGURED = JobSettings.fromConfig(ConfigFactory.load().getConfig("rund"));

    @Test
    void aLimitTooSmallForMaxActiveLowersIt() {
        assertEquals(5_984, Daemon.withinOpenFileLimit(CONFIGURED.withMaxActiveJobs(10_000), 20_000).maxActiveJobs());
    }

    @Test
    void aLargeEnoughLimitKeepsMaxActive() {
        assertEquals(10_000, Daemon.withinOpenFileLimit(CONFIGURED.withMaxActiveJobs(10_000), 1_048_576).maxActiveJobs());
    }
}
