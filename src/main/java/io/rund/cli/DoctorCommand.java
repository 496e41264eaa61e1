package io.rund.cli;

import io.rund.cgroup.CgroupReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code rund doctor}: what this host's cgroups let rund do, read without changing anything. It runs on the host
 * in question (not through the API): the first thing to run when a limit is refused.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Show this host's cgroup mode, rund's subtree, the controllers rund can delegate to jobs, "
                + "and which limits would therefore work.")
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
        return report.mode() == CgroupReport.Mode.V1 ? ExitCodes.FAILURE : ExitCodes.OK;
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
