package io.rund.job;

import java.util.List;

/**
 * The groups a job's process runs with, as the spawn helper gives them to the kernel (setresgid with {@code gid},
 * setgroups with {@code supplementary}) and as Status shows them: resolved from its user's own groups and what its
 * Start asked for ({@link JobGroupPolicy}).
 *
 * @param gid           the primary group id (real, effective and saved)
 * @param supplementary the supplementary group ids, in order, no duplicates
 */
public record JobGroups(int gid, List<Integer> supplementary) {

    public JobGroups {
        supplementary = List.copyOf(supplementary);
    }

    /** The supplementary groups as setgroups takes them. */
    int[] supplementaryArray() {
        return supplementary.stream().mapToInt(Integer::intValue).toArray();
    }
}
