package io.rund.cli;

import io.rund.TestCgroups;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** `rund doctor` on this very host, checked against what /proc/cgroups and the cgroup2 mount say independently. */
class DoctorCommandTest {

    @Test
    void reportsTheHostsModeAndWhichLimitsWouldWork() throws Exception {
        assumeTrue(Files.exists(Path.of("/proc/cgroups")), "needs /proc/cgroups");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = RundCli.execute(new PrintStream(out, true, StandardCharsets.UTF_8), System.err, "doctor",
                "--cgroup-root", "rund-doctor-test");
        String report = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, report);

        List<String> boundToV1 = Files.readAllLines(Path.of("/proc/cgroups")).stream()
                .filter(line -> !line.startsWith("#"))
                .map(line -> line.trim().split("\\s+"))
                .filter(f -> !f[1].equals("0"))
                .map(f -> f[0])
                .toList();
        assertTrue(report.contains(boundToV1.isEmpty() ? "cgroup mode:      v2" : "cgroup mode:      hybrid"), report);
        assertTrue(report.contains("/rund-doctor-test (created when rund starts)"), report);
        assertTrue(Files.notExists(TestCgroups.mount().resolve("rund-doctor-test")), "doctor must change nothing");
        if (boundToV1.contains("memory")) {
            assertTrue(report.contains("--memory-max       memory  refused: memory is bound to a cgroup v1 hierarchy"), report);
        }
        if (boundToV1.contains("blkio")) {
            assertTrue(report.contains("--io-wbps          io      refused: io is bound to a cgroup v1 hierarchy (as blkio)"), report);
        }
        for (String limit : List.of("cpu-max", "cpus", "memory-max", "memory-swap-max", "io-rbps", "io-wbps", "io-riops",
                "io-wiops", "pids-max")) {
            assertTrue(report.contains("  --" + limit + " "), "every limit is listed: " + limit);
        }
        assertRdtReported(report);
    }

    /** The RDT line says what /proc/cpuinfo's flags and /proc/self/mountinfo say, read here independently. */
    private static void assertRdtReported(String report) throws Exception {
        List<String> flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(line -> line.startsWith("flags")).findFirst()
                .map(line -> List.of(line.substring(line.indexOf(':') + 1).trim().split("\\s+"))).orElse(List.of());
        List<String> rdt = List.of("rdt_a", "cat_l3", "mba").stream().filter(flags::contains).toList();
        boolean mounted = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(line -> line.contains(" - resctrl "));
        String line = "intel rdt:        CPU flags " + (rdt.isEmpty() ? "none of rdt_a, cat_l3, mba" : String.join(" ", rdt))
                + "; resctrl " + (mounted ? "mounted at " : "not mounted");
        assertTrue(report.contains(line), "expected \"" + line + "\" in:\n" + report);
        if (!mounted) {
            assertTrue(report.contains("  --l3-cache-mask    resctrl refused: this host has no resctrl: Intel RDT needs CPU"
                    + " flags cat_l3 (rdt_a) and /sys/fs/resctrl mounted"), report);
            assertTrue(report.contains("  --memory-bandwidth resctrl refused: this host has no resctrl"), report);
        }
    }
}
