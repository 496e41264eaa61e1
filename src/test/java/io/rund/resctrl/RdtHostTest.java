package io.rund.resctrl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading what a host offers: CPU flags, the resctrl mount, and its info/ directory. */
class RdtHostTest {
    @TempDir
    Path dir;

    @Test
    void infoFilesAndTheRootSchemataAreRead() throws IOException {
        RdtHost host = FakeResctrl.host(dir.resolve("resctrl"));
        assertEquals(Optional.of(new RdtHost.Cache(0xfffff, 2, 16, false, new TreeSet<>(List.of(0, 1)))), host.l3());
        assertEquals(Optional.of(new RdtHost.Bandwidth(10, 10, 8, new TreeSet<>(List.of(0, 1)))), host.mb());
        assertEquals(Optional.empty(), host.missing(true, true));
    }

    @Test
    void theRdtFlagsOfCpuinfoAreFound() {
        List<String> cpuinfo = List.of("processor\t: 0", "flags\t\t: fpu vme cat_l3 cdp_l3 rdt_a mba cqm sse",
                "processor\t: 1", "flags\t\t: fpu");
        assertEquals(Set.of("rdt_a", "cat_l3", "mba"), RdtHost.cpuFlags(cpuinfo));
        assertEquals(Set.of(), RdtHost.cpuFlags(List.of("flags\t\t: fpu vme sse")));
    }

    @Test
    void theResctrlMountIsFoundInMountinfo() {
        List<String> mountinfo = List.of(
                "25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
                "40 25 0:36 / /sys/fs/resctrl rw,relatime shared:20 - resctrl resctrl rw");
        assertEquals(Optional.of(Path.of("/sys/fs/resctrl")), RdtHost.resctrlMount(mountinfo));
        assertEquals(Optional.empty(), RdtHost.resctrlMount(mountinfo.subList(0, 1)));
    }

    @Test
    void theCpuFlagsAreNamedWhenTheyArePresentButResctrlIsNotMounted() {
        RdtHost host = new RdtHost(Set.of("rdt_a", "cat_l3", "mba"), Optional.empty(), Optional.empty(),
                Optional.empty(), false);
        String reason = host.missing(false, true).orElseThrow().getMessage();
        assertTrue(reason.contains("the CPU has the flags: mount -t resctrl resctrl /sys/fs/resctrl"), reason);
    }
}
