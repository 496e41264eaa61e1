package io.rund.cgroup;

/**
 * The kernel's counts of what it refused or killed in a job's cgroup: processes its OOM killer ended
 * ({@code memory.events} oom_kill) and forks refused at pids.max ({@code pids.events} max); 0 where the controller is
 * not enabled. Both only grow while the cgroup lives, so a change is a difference from the last counts seen.
 */
public record EventCounters(long oomKills, long pidsMaxRefusals) {

    /** A new cgroup's counts. */
    public static final EventCounters NONE = new EventCounters(0, 0);

    /** The files these counts come from, which the kernel reports as modified when they change. */
    public static final java.util.List<String> FILES = java.util.List.of("memory.events", "pids.events");

    /** The larger of each count (a late read never takes a count back). */
    public EventCounters atLeast(EventCounters other) {
        return new EventCounters(Math.max(oomKills, other.oomKills), Math.max(pidsMaxRefusals, other.pidsMaxRefusals));
    }
}
