package io.rund.metrics;

import com.typesafe.config.ConfigFactory;
import io.rund.DaemonConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The metrics endpoint's protection: a non-loopback address is refused at validation unless explicitly allowed. */
class MetricsSettingsTest {

    @Test
    void aNonLoopbackAddressIsRefusedNamingTheKey() {
        var config = ConfigFactory.parseString("rund.metrics.address = \"0.0.0.0:9464\"").withFallback(ConfigFactory.load());

        var e = assertThrows(DaemonConfig.InvalidSettingException.class, () -> DaemonConfig.validate(config));

        assertTrue(e.getMessage().contains("rund.metrics.address"), e.getMessage());
        assertTrue(e.getMessage().contains("rund.metrics.allow-non-loopback"), e.getMessage());
    }

    @Test
    void noHostMeansEveryInterfaceAndIsRefusedToo() {
        var e = assertThrows(IllegalArgumentException.class, () -> MetricsSettings.fromConfig(
                ConfigFactory.parseString("address = \":9464\"").withFallback(ConfigFactory.load().getConfig("rund.metrics"))));
        assertTrue(e.getMessage().contains("not a loopback address"), e.getMessage());
    }

    @Test
    void aNonLoopbackAddressIsAcceptedWhenAllowed() {
        MetricsSettings settings = MetricsSettings.fromConfig(ConfigFactory.parseString(
                "address = \"0.0.0.0:9464\"\nallow-non-loopback = true").withFallback(ConfigFactory.load().getConfig("rund.metrics")));
        assertEquals(9464, settings.address().orElseThrow().port());
    }

    @Test
    void noAddressMeansNoEndpointAndLoopbackIsFine() {
        assertTrue(MetricsSettings.fromConfig(ConfigFactory.load().getConfig("rund.metrics")).address().isEmpty());
        assertEquals("127.0.0.1", MetricsSettings.fromConfig(ConfigFactory.parseString("address = \"127.0.0.1:9464\"")
                .withFallback(ConfigFactory.load().getConfig("rund.metrics"))).address().orElseThrow().host());
    }

    @Test
    void aBadPortOrNegativeCapNamesTheKey() {
        var base = ConfigFactory.load().getConfig("rund.metrics");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricsSettings.fromConfig(
                ConfigFactory.parseString("address = \"127.0.0.1:http\"").withFallback(base))).getMessage().contains("rund.metrics.address"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricsSettings.fromConfig(
                ConfigFactory.parseString("max-job-series = -1").withFallback(base))).getMessage().contains("rund.metrics.max-job-series"));
    }
}
