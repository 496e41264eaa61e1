package io.rund.resctrl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job's group made, changed and removed in a resctrl tree laid out as the kernel does. */
class RdtGroupsTest {
    private static final String JOB = "01JCZ5Q0A8X3V8M2N1P4R6T7W9";
    @TempDir
    Path dir;
    private Path root;
    private RdtGroups groups;

    @BeforeEach
    void layOutTree() throws IOException {
        root = dir.resolve("resctrl");
        groups = new RdtGroups(FakeResctrl.host(root));
    }

    @Test
    void aGroupIsMadeWithItsSchemataAndRemovedWhenTheJobEnds() throws Exception {
        List<String> lines = groups.plan(Optional.of(DomainValues.everywhere(0xff)),
                Optional.of(DomainValues.parse("0=20,1=70", 10)));
        Path tasks = groups.create(JOB, lines);
        assertEquals(root.resolve("rund-" + JOB).resolve("tasks"), tasks);
        assertEquals(List.of("L3:0=ff;1=ff", "MB:0=20;1=70"), Files.readAllLines(root.resolve("rund-" + JOB + "/schemata")));
        assertEquals(Optional.of(lines), groups.schemataOf(JOB));
        assertTrue(groups.remove(JOB));
        assertFalse(Files.exists(root.resolve("rund-" + JOB)));
        assertFalse(groups.remove(JOB), "a second removal finds nothing");
    }

    @Test
    void anUpdateRewritesTheSchemataAndReadsThemBack() throws Exception {
        groups.create(JOB, groups.plan(Optional.of(DomainValues.everywhere(0xff)), Optional.empty()));
        List<String> inForce = groups.update(JOB, groups.plan(Optional.of(DomainValues.everywhere(0xf00)), Optional.empty()));
        assertEquals(List.of("L3:0=f00;1=f00"), inForce);
    }

    @Test
    void anUpdateOfAJobWithoutAGroupIsRefused() {
        RdtException refused = assertThrows(RdtException.class, () -> groups.update(JOB, List.of("L3:0=ff")));
        assertEquals(RdtException.Kind.UNSUPPORTED, refused.kind());
        assertTrue(refused.getMessage().contains("started without an Intel RDT limit"), refused.getMessage());
    }

    @Test
    void theKernelsPaddedReadBackCountsAsTheValueWritten() {
        assertTrue(RdtGroups.covers(List.of("L3:0=000ff;1=fffff", "MB:0= 50;1=100"), "L3:0=ff"));
        assertTrue(RdtGroups.covers(List.of("L3:0=000ff;1=fffff", "MB:0= 50;1=100"), "MB:0=50"));
        assertFalse(RdtGroups.covers(List.of("L3:0=000ff;1=fffff"), "L3:1=ff"));
        assertFalse(RdtGroups.covers(List.of("L3:0=000ff"), "MB:0=50"));
    }

    @Test
    void orphanGroupsOfEndedJobsAreRemovedAndBusyOrKeptOnesLeft() throws Exception {
        String kept = "01JCZ5Q0A8X3V8M2N1P4R6T7WA";
        String busy = "01JCZ5Q0A8X3V8M2N1P4R6T7WB";
        for (String job : List.of(JOB, kept, busy)) {
            groups.create(job, List.of("L3:0=ff;1=ff"));
        }
        Files.writeString(root.resolve("rund-" + busy + "/tasks"), "4242\n");
        Files.createDirectory(root.resolve("someone-else"));
        RdtGroups.Orphans orphans = groups.removeOrphans(Set.of(kept));
        assertEquals(List.of("rund-" + JOB), orphans.removed());
        assertEquals(List.of("rund-" + busy), orphans.stillInUse());
        assertTrue(Files.isDirectory(root.resolve("rund-" + kept)));
        assertTrue(Files.isDirectory(root.resolve("someone-else")));
    }

    @Test
    void aHostWithoutResctrlHasNothingToRemove() throws Exception {
        RdtGroups none = new RdtGroups(new RdtHost(Set.of(), Optional.empty(), Optional.empty(), Optional.empty(), false));
        assertFalse(none.remove(JOB));
        assertEquals(List.of(), none.removeOrphans(Set.of()).removed());
    }
}
