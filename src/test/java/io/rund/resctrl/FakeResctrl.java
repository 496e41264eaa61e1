package io.rund.resctrl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * A resctrl tree laid out in a temp directory as the kernel lays it out on a two-socket host with L3 CAT and MBA
 * (info/L3, info/MB, the root group's schemata and tasks): file contents as the kernel prints them, so the code that
 * reads them is tested on what it will read. Not a mock of any kernel call.
 */
final class FakeResctrl {
    static final Set<String> RDT_CPU_FLAGS = Set.of("rdt_a", "cat_l3", "mba");

    private FakeResctrl() {}

    /** cbm_mask fffff (20 ways), min_cbm_bits 2, 16 CLOSIDs; MB from 10% in steps of 10, 8 CLOSIDs; domains 0 and 1. */
    static Path layOut(Path root) throws IOException {
        Files.createDirectories(root.resolve("info/L3"));
        Files.createDirectories(root.resolve("info/MB"));
        Files.writeString(root.resolve("info/L3/cbm_mask"), "fffff\n");
        Files.writeString(root.resolve("info/L3/min_cbm_bits"), "2\n");
        Files.writeString(root.resolve("info/L3/num_closids"), "16\n");
        Files.writeString(root.resolve("info/L3/shareable_bits"), "c0000\n");
        Files.writeString(root.resolve("info/MB/min_bandwidth"), "10\n");
        Files.writeString(root.resolve("info/MB/bandwidth_gran"), "10\n");
        Files.writeString(root.resolve("info/MB/num_closids"), "8\n");
        Files.writeString(root.resolve("info/MB/delay_linear"), "1\n");
        Files.writeString(root.resolve("info/last_cmd_status"), "ok\n");
        Files.writeString(root.resolve("schemata"), "    L3:0=fffff;1=fffff\n    MB:0=100;1=100\n");
        Files.writeString(root.resolve("tasks"), "1\n2\n");
        return root;
    }

    static RdtHost host(Path root) throws IOException {
        return RdtHost.at(layOut(root), RDT_CPU_FLAGS, false);
    }
}
