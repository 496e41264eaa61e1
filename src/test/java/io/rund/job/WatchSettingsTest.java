package io.rund.job;

import com.typesafe.config.ConfigFactory;
import io.rund.DaemonConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rund.labels and rund.events values rund cannot use stop the daemon's start with one line naming the key. */
class WatchSettingsTest {

    @Test
    void badValuesAreRefusedNamingTheKey() throws Exception {
        DaemonConfig.validate(ConfigFactory.load());
        for (String[] bad : new String[][] {
                {"rund.events.ring-size = 0", "rund.events.ring-size"},
                {"rund.events.batch = 100000", "rund.events.batch"},
                {"rund.labels.max-count = -1", "rund.labels.max-count"},
                {"rund.labels.max-bytes = lots", "rund.labels.max-bytes"}}) {
            DaemonConfig.InvalidSettingException e = assertThrows(DaemonConfig.InvalidSettingException.class,
                    () -> DaemonConfig.validate(ConfigFactory.parseString(bad[0]).withFallback(ConfigFactory.load())), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]) && e.getMessage().lines().count() == 1, e.getMessage());
        }
    }
}
