package io.rund.cli;

import io.rund.cgroup.CgroupReport;
import io.rund.resctrl.RdtHost;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code rund doctor}: what this host's cgroups let rund do, read without changing anything. It runs on the host
 * in question (not through the API): the first thing to run when a limit is refused. Intel RDT (resctrl) is reported
 * beside the cgroup limits.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Show this host's cgroup mode, rund's subtree, the controllers rund can delegate to jobs, "
                + "and which limits would therefore work; and Intel RDT: the CPU's flags, resctrl, and its limits.")
final class DoctorCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Option(names = "--cgroup-root", paramLabel = "PATH", defaultValue = "${env:RUND_CGROUP_ROOT:-}",
            description = "The cgroup root rund is configured with (rund.cgroup.root, env RUND_CGROUP_ROOT); "
                    + "default: the one rund picks under its own cgroup.")
    String cgroupRoot;

    @Override
    public Integer call() throws CliException {
        CgroupReport report;
        try {
            report = CgroupReport.inspect(cgroupRoot.isEmpty() ? Optional.empty() : Optional.of(Path.of(cgroupRoot)));
        } catch (IOException e) {
            throw new CliException(ExitCodes.FAILURE, "cannot read this host's cgroups: " + e.getMessage(), e);
        }
        cli.println("cgroup mode:      " + describeMode(report));
        cli.println("rund's subtree:   " + report.subtree().map(p -> p + (report.subtreeExists() ? "" : " (created when rund starts)"))
                .orElse("none: rund needs a cgroup2 mount"));
        cli.println("for jobs:         " + (report.delegatable().isEmpty() ? "no controllers" : String.join(" ", report.delegatable()))
                + " (placement, kill, freeze and cpu accounting work without any)");
        if (!report.v1Controllers().isEmpty()) {
            cli.println("bound to v1:      " + String.join(" ", report.v1Controllers()));
        }
        cli.println("limits:");
        for (Map.Entry<String, String> limit : CgroupReport.CONTROLLER_BY_LIMIT.entrySet()) {
            String verdict = report.whyUnavailable(limit.getValue()).map(why -> "refused: " + why).orElse("works");
            cli.println(String.format("  --%-16s %-7s %s", limit.getKey(), limit.getValue(), verdict));
        }
        reportRdt();
        return report.mode() == CgroupReport.Mode.V1 ? ExitCodes.FAILURE : ExitCodes.OK;
    }

    /** Intel RDT: the CPU's flags, whether resctrl is mounted, and what its info/ allows; each RDT limit's verdict. */
    private void reportRdt() throws CliException {
        RdtHost host;
        try {
            host = RdtHost.ofThisHost();
        } catch (IOException | RuntimeException e) {
            throw new CliException(ExitCodes.FAILURE, "cannot read this host's Intel RDT support: " + e.getMessage(), e);
        }
        List<String> flags = RdtHost.RDT_FLAGS.stream().filter(host.cpuFlags()::contains).toList();
        cli.println("intel rdt:        CPU flags " + (flags.isEmpty() ? "none of " + String.join(", ", RdtHost.RDT_FLAGS)
                : String.join(" ", flags)) + "; resctrl " + host.mount().map(m -> "mounted at " + m).orElse("not mounted"));
        String l3 = host.missing(true, false).map(why -> "refused: " + why.getMessage())
                .orElseGet(() -> host.l3().map(c -> "works (cbm_mask " + Long.toHexString(c.cbmMask()) + ", min_cbm_bits "
                        + c.minCbmBits() + ", " + c.numClosids() + " CLOSIDs, cache domains " + ids(c.domains()) + ")").orElseThrow());
        String mb = host.missing(false, true).map(why -> "refused: " + why.getMessage())
                .orElseGet(() -> host.mb().map(b -> "works (min_bandwidth " + b.minBandwidth() + "%, bandwidth_gran "
                        + b.granularity() + "%, " + b.numClosids() + " CLOSIDs, cache domains " + ids(b.domains()) + ")").orElseThrow());
        cli.println(String.format("  --%-16s %-7s %s", "l3-cache-mask", "resctrl", l3));
        cli.println(String.format("  --%-16s %-7s %s", "memory-bandwidth", "resctrl", mb));
    }

    private static String ids(java.util.Set<Integer> domains) {
        return domains.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(","));
    }

    private static String describeMode(CgroupReport report) {
        return switch (report.mode()) {
            case V2 -> "v2 (unified hierarchy at " + report.mount().orElseThrow() + ")";
            case HYBRID -> "hybrid (cgroup2 at " + report.mount().orElseThrow()
                    + " beside v1 hierarchies: limits whose controllers v1 holds are refused)";
            case V1 -> "v1 only (no cgroup2 mount: rund cannot run jobs here)";
        };
    }
}
