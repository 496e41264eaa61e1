package io.rund.job;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What each client identity (the SAN set of its certificate) holds of the daemon, and the caps of
 * {@link TenantSettings} on it: running jobs, a start rate (a token bucket per identity), and the bytes the registry
 * keeps of jobs (their command, arguments and environment, and a fixed cost per job), per identity and in total.
 * A Start is refused while running jobs alone would exceed a byte budget; finished jobs beyond one are forgotten,
 * oldest-finished first (the identity's own beyond its budget, anyone's beyond the total). Owned by the
 * {@link JobRegistry} actor and used only on its thread: no locks.
 */
final class Tenants {

    /**
     * What the registry keeps per job beside its command, arguments and environment: its actor, entry, status and
     * log's index. Measured as live heap per running job (bin/bench, 3. Scale: 4.15 KiB), rounded up.
     */
    static final long JOB_OVERHEAD_BYTES = 5 * 1024;
    /**
     * What the registry keeps per finished job beside its command and in-memory arguments: its entry, status and
     * ended actor. Measured as live heap per finished job (bin/bench --soak, heap per finished job), rounded up.
     */
    static final long FINISHED_OVERHEAD_BYTES = 2 * 1024;
    /** A Java String's own object and its array's header and padding, beside its characters, plus a list slot. */
    static final long STRING_OVERHEAD_BYTES = 48;
    private static final int LATIN1_MAX = 0xFF;
    private static final double NANOS_PER_SECOND = 1e9;

    /** A finished job to forget, and the budget that its keeping would pass ("setting = value"). */
    record Forget(String jobId, String budget) {}

    /** One job's charge, and whose it is. */
    private record Charge(Set<String> identity, long bytes) {}

    /** One identity's running jobs, their bytes and its finished jobs' (oldest-finished first), and its start tokens. */
    private static final class Tenant {
        int runningJobs;
        long runningBytes;
        long retainedBytes;
        final LinkedHashSet<String> finished = new LinkedHashSet<>();
        double tokens;
        Instant refilledAt;

        Tenant(double tokens, Instant now) {
            this.tokens = tokens;
            this.refilledAt = now;
        }
    }

    private final TenantSettings settings;
    private final Map<Set<String>, Tenant> tenants = new HashMap<>();
    private final Map<String, Charge> charges = new HashMap<>();
    /** Every identity's finished jobs, oldest-finished first. */
    private final LinkedHashSet<String> finished = new LinkedHashSet<>();
    private long runningBytes;
    private long retainedBytes;
    private int startsSinceSweep;

    Tenants(TenantSettings settings) {
        this.settings = settings;
    }

    /** What the registry keeps of a job started with {@code spec}, in bytes of heap. */
    static long chargeOf(JobSpec spec) {
        long bytes = JOB_OVERHEAD_BYTES + heapBytes(spec.command());
        for (String arg : spec.args()) {
            bytes += heapBytes(arg);
        }
        for (Map.Entry<String, String> variable : spec.environment().entrySet()) {
            bytes += heapBytes(variable.getKey()) + heapBytes(variable.getValue());
        }
        return bytes + labelsBytes(spec.labels());
    }

    /**
     * What the registry keeps of a finished job whose status is {@code status}: its summary, and its arguments only if
     * they stay in memory ({@code argsKept}); its environment and large arguments are in its record on disk.
     */
    static long finishedChargeOf(JobStatus status, boolean argsKept) {
        return FINISHED_OVERHEAD_BYTES + heapBytes(status.command()) + (argsKept ? argsBytes(status.args()) : 0)
                + labelsBytes(status.labels());
    }

    /** The heap a job's labels take as Strings (they stay in memory for List's filter). */
    static long labelsBytes(Map<String, String> labels) {
        long bytes = 0;
        for (Map.Entry<String, String> label : labels.entrySet()) {
            bytes += heapBytes(label.getKey()) + heapBytes(label.getValue());
        }
        return bytes;
    }

    /** The heap {@code args} take as Strings in a list. */
    static long argsBytes(List<String> args) {
        long bytes = 0;
        for (String arg : args) {
            bytes += heapBytes(arg);
        }
        return bytes;
    }

    /** A String holds one byte per character if all are Latin-1 (compact strings), else two. */
    private static long heapBytes(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > LATIN1_MAX) {
                return STRING_OVERHEAD_BYTES + 2L * s.length();
            }
        }
        return STRING_OVERHEAD_BYTES + s.length();
    }

    /** Which cap, if any, refuses {@code identity} a new job of {@code bytes}; consumes nothing. */
    Optional<JobError> refusal(Set<String> identity, long bytes, Instant now) {
        Tenant tenant = tenants.get(identity);
        int running = tenant == null ? 0 : tenant.runningJobs;
        if (running >= settings.maxRunningJobs()) {
            return exhausted("this client already runs " + running + " jobs, the most one identity may run at once"
                    + " (rund.tenants.max-running-jobs = " + settings.maxRunningJobs() + ")");
        }
        if (tenant != null && tokensAt(tenant, now) < 1) {
            Duration wait = Duration.ofNanos((long) Math.ceil((1 - tokensAt(tenant, now)) / settings.startsPerSecond() * NANOS_PER_SECOND));
            return exhausted("this client starts jobs faster than one identity may (rund.tenants.start-rate = "
                    + settings.startsPerSecond() + " per second, rund.tenants.start-burst = " + settings.startBurst()
                    + "); the next start is accepted in " + wait.toMillis() + " ms");
        }
        long identityRunning = tenant == null ? 0 : tenant.runningBytes;
        if (identityRunning + bytes > settings.maxRetainedBytesPerIdentity()) {
            return exhausted("this client's running jobs hold " + identityRunning + " bytes of command, arguments and "
                    + "environment; this job's " + bytes + " more would pass rund.tenants.max-retained-bytes-per-identity = "
                    + settings.maxRetainedBytesPerIdentity());
        }
        if (runningBytes + bytes > settings.maxRetainedBytes()) {
            return exhausted("the running jobs of all clients hold " + runningBytes + " bytes of command, arguments and "
                    + "environment; this job's " + bytes + " more would pass rund.tenants.max-retained-bytes = "
                    + settings.maxRetainedBytes());
        }
        return Optional.empty();
    }

    /**
     * Counts job {@code jobId} of {@code identity}, admitted by {@link #refusal}, as running, and takes a start
     * token. Returns the finished jobs that must now be forgotten to stay within the byte budgets, oldest first;
     * they no longer count.
     */
    List<Forget> started(String jobId, Set<String> identity, long bytes, Instant now) {
        Tenant tenant = tenants.computeIfAbsent(identity, who -> new Tenant(settings.startBurst(), now));
        tenant.tokens = tokensAt(tenant, now) - 1;
        tenant.refilledAt = now;
        tenant.runningJobs++;
        tenant.runningBytes += bytes;
        tenant.retainedBytes += bytes;
        runningBytes += bytes;
        retainedBytes += bytes;
        charges.put(jobId, new Charge(identity, bytes));
        if (++startsSinceSweep >= tenants.size()) {
            dropIdle(now);
            startsSinceSweep = 0;
        }

        return overBudgets(tenant);
    }

    /**
     * Counts job {@code jobId} of {@code identity}, which ended before this daemon started, as finished (newer than
     * those counted before it); takes no start token. Returns the finished jobs that must now be forgotten to stay
     * within the byte budgets, oldest first.
     */
    List<Forget> restored(String jobId, Set<String> identity, long bytes, Instant now) {
        Tenant tenant = tenants.computeIfAbsent(identity, who -> new Tenant(settings.startBurst(), now));
        tenant.retainedBytes += bytes;
        retainedBytes += bytes;
        charges.put(jobId, new Charge(identity, bytes));
        tenant.finished.add(jobId);
        finished.add(jobId);
        return overBudgets(tenant);
    }

    /** The finished jobs to forget, oldest first, so that {@code tenant} and everyone stay within the byte budgets. */
    private List<Forget> overBudgets(Tenant tenant) {
        List<Forget> forget = new ArrayList<>();
        while (tenant.retainedBytes > settings.maxRetainedBytesPerIdentity() && !tenant.finished.isEmpty()) {
            String oldest = tenant.finished.getFirst();
            forget.add(new Forget(oldest, "rund.tenants.max-retained-bytes-per-identity = " + settings.maxRetainedBytesPerIdentity()));
            forgotten(oldest);
        }
        while (retainedBytes > settings.maxRetainedBytes() && !finished.isEmpty()) {
            String oldest = finished.getFirst();
            forget.add(new Forget(oldest, "rund.tenants.max-retained-bytes = " + settings.maxRetainedBytes()));
            forgotten(oldest);
        }
        return forget;
    }

    /**
     * Job {@code jobId} has ended: it no longer runs, may be forgotten from now on, and is kept for
     * {@code finishedBytes} ({@link #finishedChargeOf}) instead of what it held while it ran.
     */
    void ended(String jobId, long finishedBytes) {
        Charge charge = charges.get(jobId);
        if (charge == null) {
            return;
        }
        Tenant tenant = tenants.get(charge.identity());
        tenant.runningJobs--;
        tenant.runningBytes -= charge.bytes();
        runningBytes -= charge.bytes();
        tenant.retainedBytes += finishedBytes - charge.bytes();
        retainedBytes += finishedBytes - charge.bytes();
        charges.put(jobId, new Charge(charge.identity(), finishedBytes));
        tenant.finished.add(jobId);
        finished.add(jobId);
    }

    /** Job {@code jobId} is gone from the registry (failed to start, forgotten, or its actor failed): nothing counts. */
    void forgotten(String jobId) {
        Charge charge = charges.remove(jobId);
        if (charge == null) {
            return;
        }
        Tenant tenant = tenants.get(charge.identity());
        if (finished.remove(jobId)) {
            tenant.finished.remove(jobId);
        } else {
            tenant.runningJobs--;
            tenant.runningBytes -= charge.bytes();
            runningBytes -= charge.bytes();
        }
        tenant.retainedBytes -= charge.bytes();
        retainedBytes -= charge.bytes();
    }

    /** Bytes the registry keeps of the jobs of {@code identity}, running and finished. */
    long retainedBytes(Set<String> identity) {
        Tenant tenant = tenants.get(identity);
        return tenant == null ? 0 : tenant.retainedBytes;
    }

    /**
     * Drops identities that hold no job and whose bucket has refilled: keeping them would change nothing, so the map
     * holds only identities with jobs or a recent start. Run once per as many starts as there are identities, so
     * that it costs O(1) per start.
     */
    private void dropIdle(Instant now) {
        tenants.values().removeIf(tenant -> tenant.runningJobs == 0 && tenant.finished.isEmpty()
                && tokensAt(tenant, now) >= settings.startBurst());
    }

    private double tokensAt(Tenant tenant, Instant now) {
        double elapsedSeconds = Math.max(0, Duration.between(tenant.refilledAt, now).toNanos()) / NANOS_PER_SECOND;
        return Math.min(settings.startBurst(), tenant.tokens + elapsedSeconds * settings.startsPerSecond());
    }

    private static Optional<JobError> exhausted(String message) {
        return Optional.of(new JobError(JobError.Kind.RESOURCE_EXHAUSTED, "", message));
    }
}
