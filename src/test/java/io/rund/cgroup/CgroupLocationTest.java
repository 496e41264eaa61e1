package io.rund.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Finding the cgroup2 mount and a process's own cgroup in /proc's text. */
final class CgroupLocationTest {
    private static final String HYBRID_MOUNTINFO_CGROUP1 =
            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory";
    private static final String HYBRID_MOUNTINFO_CGROUP2 =
            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

    @Test
    void theCurrentProcessIsUnderTheCgroup2Mount() throws Exception {
        CgroupTestSupport.cgroup2MountOrSkip();
        CgroupLocation here = CgroupLocation.ofCurrentProcess();
        assertTrue(here.ownCgroup().startsWith(here.mount()), here.toString());
        assertTrue(Files.isDirectory(here.ownCgroup()), here.toString());
    }

    @Test
    void aHybridHostsUnifiedMountAndTheZeroLineAreUsed() throws Exception {
        CgroupLocation location = CgroupLocation.of(
                List.of(HYBRID_MOUNTINFO_CGROUP1, HYBRID_MOUNTINFO_CGROUP2),
                List.of("4:memory:/process_api/88b8", "0::/system.slice/rund.service"));
        assertEquals(Path.of("/sys/fs/cgroup/unified"), location.mount());
        assertEquals(Path.of("/sys/fs/cgroup/unified/system.slice/rund.service"), location.ownCgroup());
    }

    @Test
    void aPureV2HostsMountAtSysFsCgroupAndASystemdScopeAreUsed() throws Exception {
        CgroupLocation location = CgroupLocation.of(
                List.of("24 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
                        + "rw,nsdelegate,memory_recursiveprot"),
                List.of("0::/user.slice/user-0.slice/session-3.scope"));
        assertEquals(Path.of("/sys/fs/cgroup"), location.mount());
        assertEquals(Path.of("/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope"), location.ownCgroup());
    }

    @Test
    void theRootCgroupIsTheMountItself() throws Exception {
        CgroupLocation location = CgroupLocation.of(List.of(HYBRID_MOUNTINFO_CGROUP2), List.of("0::/"));
        assertEquals(location.mount(), location.ownCgroup());
    }

    @Test
    void aMountOfASubtreeAndAnEscapedMountPointAreUnderstood() throws Exception {
        CgroupLocation location = CgroupLocation.of(
                List.of("50 40 0:38 /kubepods/pod1 /run/my\\040cgroup rw shared:5 - cgroup2 cgroup2 rw"),
                List.of("0::/kubepods/pod1/ctr"));
        assertEquals(Path.of("/run/my cgroup"), location.mount());
        assertEquals(Path.of("/run/my cgroup/ctr"), location.ownCgroup());
    }

    @Test
    void noCgroup2HierarchyIsAnErrorNamingTheFile() {
        CgroupException noLine = assertThrows(CgroupException.class,
                () -> CgroupLocation.of(List.of(HYBRID_MOUNTINFO_CGROUP2), List.of("4:memory:/")));
        assertEquals(CgroupLocation.PROC_SELF_CGROUP, noLine.path());
        CgroupException noMount = assertThrows(CgroupException.class,
                () -> CgroupLocation.of(List.of(HYBRID_MOUNTINFO_CGROUP1), List.of("0::/")));
        assertEquals(CgroupLocation.PROC_SELF_MOUNTINFO, noMount.path());
    }
}
