package io.rund.job;

import com.typesafe.config.ConfigFactory;
import io.rund.DaemonConfig;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rund.jobs.allowed-groups and rund.jobs.max-groups: none allowed by default; a comma-separated list from the
 * environment's form reads as the list; values rund cannot use (a gid of the per-job identity range, a blank entry,
 * a cap above NGROUPS_MAX) stop the daemon's start with one line naming the key.
 */
class GroupSettingsTest {

    @Test
    void noGroupIsAllowedByDefault() {
        GroupSettings defaults = GroupSettings.fromConfig(ConfigFactory.load().getConfig("rund"));
        assertEquals(Set.of(), defaults.allowed());
        assertEquals(32, defaults.maxGroups());
        GroupSettings listed = GroupSettings.fromConfig(ConfigFactory.parseString(
                "rund.jobs.allowed-groups = \"adm, video ,4242\"").withFallback(ConfigFactory.load()).getConfig("rund"));
        assertEquals(Set.of("adm", "video", "4242"), listed.allowed(), "as RUND_ALLOWED_GROUPS gives it");
    }

    @Test
    void unusableValuesAreRefusedNamingTheKey() {
        for (String[] bad : new String[][] {
                {"rund.jobs.allowed-groups = [\"70000\"]", "rund.jobs.allowed-groups"},
                {"rund.jobs.allowed-groups = [\" \"]", "rund.jobs.allowed-groups"},
                {"rund.jobs.allowed-groups = [\"99999999999\"]", "rund.jobs.allowed-groups"},
                {"rund.jobs.max-groups = 65537", "rund.jobs.max-groups"},
                {"rund.jobs.max-groups = many", "rund.jobs.max-groups"}}) {
            DaemonConfig.InvalidSettingException e = assertThrows(DaemonConfig.InvalidSettingException.class,
                    () -> DaemonConfig.validate(ConfigFactory.parseString(bad[0]).withFallback(ConfigFactory.load())), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]) && e.getMessage().lines().count() == 1, e.getMessage());
        }
    }
}
