package io.rund.cluster;

import com.typesafe.config.ConfigFactory;
import io.rund.DaemonConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rund.cluster is read once and a bad value stops start in one line naming its key. */
final class ClusterSettingsTest {

    private static com.typesafe.config.Config with(String hocon) {
        return ConfigFactory.parseString(hocon).withFallback(ConfigFactory.load());
    }

    @Test
    void withoutANodeNameRundServesAloneAndMintsIndexZero() throws Exception {
        DaemonConfig.validate(with(""));
        ClusterSettings settings = ClusterSettings.fromConfig(with("rund.cluster.node-index = 9").getConfig("rund"));
        assertFalse(settings.enabled());
        assertEquals(0, settings.mintingIndex());
    }

    @Test
    void aClusterNodeReadsItsIndexSeedsAndAddress() throws Exception {
        var config = with("rund.cluster { node-name = n1, node-index = 3, address = \"10.0.0.1:7355\","
                + " seeds = \"10.0.0.1:7355, 10.0.0.2:7355\" }");
        DaemonConfig.validate(config);
        ClusterSettings settings = ClusterSettings.fromConfig(config.getConfig("rund"));
        assertTrue(settings.enabled());
        assertEquals(3, settings.mintingIndex());
        assertEquals(java.util.List.of("10.0.0.1:7355", "10.0.0.2:7355"), settings.seeds());
        assertEquals("10.0.0.1", settings.host());
        assertEquals(7355, settings.port());
    }

    @Test
    void aBadValueNamesItsKey() {
        for (String[] bad : new String[][] {
                {"rund.cluster { node-name = n1, node-index = 0 }", "rund.cluster.node-index"},
                {"rund.cluster { node-name = n1, node-index = 70000 }", "rund.cluster.node-index"},
                {"rund.cluster { node-name = n1, node-index = 1, address = nowhere }", "rund.cluster.address"},
                {"rund.cluster { node-name = n1, node-index = 1, seeds = \"a:1,b\" }", "rund.cluster.seeds"},
                {"rund.cluster { node-name = \"no spaces\", node-index = 1 }", "rund.cluster.node-name"}}) {
            DaemonConfig.InvalidSettingException e = assertThrows(DaemonConfig.InvalidSettingException.class,
                    () -> DaemonConfig.validate(with(bad[0])), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
    }
}
