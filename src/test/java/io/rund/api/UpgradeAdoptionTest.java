package io.rund.api;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link AdoptionTest}'s scenarios across an upgrade: the first daemon is {@code rund serve} of an earlier commit
 * (its jar and dependencies in the system property rund.upgrade.old-classpath), the one that adopts its jobs is this
 * build. src/test/upgrade/upgrade.sh builds the earlier commit and runs this class (CI runs the script); without the
 * property it skips, saying so.
 */
class UpgradeAdoptionTest {

    private static final String OLD_CLASSPATH = "rund.upgrade.old-classpath";

    private static String oldClasspath;

    @BeforeAll
    static void findTheOldBuild() {
        oldClasspath = System.getProperty(OLD_CLASSPATH, "");
        Assumptions.assumeFalse(oldClasspath.isEmpty(), "no earlier build given (" + OLD_CLASSPATH
                + "): src/test/upgrade/upgrade.sh builds one and runs this test");
    }

    @Test
    void aDaemonOfThisBuildAdoptsFiftyJobsOfAnEarlierBuildKilledHard() throws Exception {
        AdoptionTest.kill9WithFiftyJobs(env -> DaemonProcess.startBuild(oldClasspath, env),
                UpgradeAdoptionTest::saysItAdoptsFromTheEarlierKeeper);
    }

    @Test
    void aDaemonOfThisBuildAdoptsAJobOfAnEarlierBuildStoppedWithKeep() throws Exception {
        AdoptionTest.sigtermWithKeep(env -> DaemonProcess.startBuild(oldClasspath, env),
                UpgradeAdoptionTest::saysItAdoptsFromTheEarlierKeeper);
    }

    /** The new daemon's log names the keeper the earlier daemon left, the protocol both speak, and what it adopts. */
    private static void saysItAdoptsFromTheEarlierKeeper(DaemonProcess next) throws Exception {
        List<String> lines = next.logLines();
        assertTrue(lines.stream().anyMatch(line -> line.contains("left running by an earlier daemon")
                        && line.contains("keeper protocol version") && line.contains("adopting from it")),
                "the new daemon says it adopts from the earlier daemon's keeper:\n" + String.join("\n", lines));
    }
}
