package io.rund.job;

import io.rund.cgroup.Cgroup;
import io.rund.cgroup.CgroupException;
import io.rund.cgroup.CgroupManager;
import io.rund.cgroup.InvalidLimitException;
import io.rund.cgroup.LimitChange;
import io.rund.cgroup.Limits;
import io.rund.cgroup.MissingControllerException;
import io.rund.linux.FsCredentials;
import io.rund.linux.ProcessCredentials;
import io.rund.resctrl.DomainValues;
import io.rund.resctrl.RdtException;
import io.rund.resctrl.RdtGroups;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Applies a limit change to a running job's cgroup, on the blocking dispatcher (a memory.max write below usage
 * reclaims inside the write, which can take long). Io devices are resolved as a process of the job sees them: its
 * credentials and working directory are read from /proc for a pid listed in the job's own cgroup.procs, so a reused
 * pid can never lend a stranger's view. A job whose cgroup is gone or empty has ended: the change is refused. Intel
 * RDT settings are checked against the host first and written to the job's resctrl group before the cgroup's files.
 */
final class LimitUpdater {

    private LimitUpdater() {}

    static CompletionStage<JobRegistry.UpdateResult> apply(JobRuntime runtime, String jobId, LimitChange change) {
        return CompletableFuture.supplyAsync(() -> applyNow(runtime, jobId, change), runtime.blocking());
    }

    private static JobRegistry.UpdateResult applyNow(JobRuntime runtime, String jobId, LimitChange change) {
        Cgroup cgroup = runtime.cgroups().existing(jobId);
        try {
            Optional<JobProcessView> view = viewOf(cgroup);
            if (view.isEmpty()) {
                return ended(jobId);
            }
            change.validate(); // every value first: a refused cgroup value must not follow a written RDT one
            List<String> rdtLines = change.set().hasRdt() ? runtime.rdt().plan(change.set().l3CacheMask(),
                    change.set().memoryBandwidthPercent()) : List.of();
            if (!rdtLines.isEmpty()) {
                runtime.rdt().update(jobId, rdtLines);
            }
            CgroupManager.LimitsInForce inForce = runtime.cgroups().update(cgroup, change,
                    view.get().workingDirectory(), view.get().credentials());
            return new JobRegistry.LimitsUpdated(jobId, withRdtInForce(runtime, jobId, inForce.limits()),
                    inForce.oomKills());
        } catch (RdtException e) {
            return new JobRegistry.UpdateRefused(RdtPlacement.errorOf(e));
        } catch (InvalidLimitException e) {
            return new JobRegistry.UpdateRefused(JobError.invalid(e.field(), e.reason()));
        } catch (MissingControllerException e) {
            return new JobRegistry.UpdateRefused(JobError.precondition("limits", e.getMessage())
                    .because(JobError.Reason.MISSING_CONTROLLER));
        } catch (CgroupException e) {
            return cgroup.exists() ? new JobRegistry.UpdateRefused(JobError.precondition("limits",
                    "the kernel refused the change: " + e.getMessage())) : ended(jobId);
        } catch (IOException e) {
            return new JobRegistry.UpdateRefused(JobError.unavailable("cannot read the job's process: " + e.getMessage()));
        }
    }

    /** The cgroup limits read back, with the job's Intel RDT settings as its resctrl group's schemata show them. */
    private static Limits withRdtInForce(JobRuntime runtime, String jobId, Limits limits) throws RdtException {
        if (runtime.rdt().host().mount().isEmpty()) {
            return limits;
        }
        Optional<List<String>> schemata = runtime.rdt().schemataOf(jobId);
        if (schemata.isEmpty()) {
            return limits;
        }
        Limits withRdt = limits;
        Optional<DomainValues> masks = RdtGroups.valuesOf(schemata.get(), "L3");
        if (masks.isPresent()) {
            withRdt = withRdt.withL3CacheMask(masks.get());
        }
        Optional<DomainValues> percents = RdtGroups.valuesOf(schemata.get(), "MB");
        if (percents.isPresent()) {
            withRdt = withRdt.withMemoryBandwidthPercent(percents.get());
        }
        return withRdt;
    }

    /** The credentials and working directory of a process of the job, or empty if it has none left. */
    private static Optional<JobProcessView> viewOf(Cgroup cgroup) throws CgroupException, IOException {
        if (!cgroup.exists()) {
            return Optional.empty();
        }
        List<Integer> pids = cgroup.pids();
        for (int pid : pids) {
            Optional<FsCredentials> credentials = ProcessCredentials.of(pid);
            Optional<Path> cwd = ProcessCredentials.workingDirectory(pid);
            // Still in the job's cgroup after reading: the pid was not reused by a stranger meanwhile.
            if (credentials.isPresent() && cwd.isPresent() && cgroup.pids().contains(pid)) {
                return Optional.of(new JobProcessView(credentials.get(), cwd.get()));
            }
        }
        return Optional.empty();
    }

    private static JobRegistry.UpdateResult ended(String jobId) {
        return new JobRegistry.UpdateRefused(JobError.precondition("job_id", "job " + jobId
                + " has ended: its limits went with its cgroup"));
    }

    private record JobProcessView(FsCredentials credentials, Path workingDirectory) {}
}
