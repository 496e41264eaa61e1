package io.rund.job;

import java.util.List;
import java.util.Map;

/**
 * The registry's figures for the metrics endpoint, taken in one message: jobs by state, and the live jobs' cgroups
 * (at most the asked number, oldest first) for per-job figures with bounded label cardinality.
 *
 * @param liveJobs     jobs not ended, all of them (not only those in {@code live})
 */
public record JobFigures(Map<JobState, Integer> byState, int liveJobs, List<CgroupLookup.Live> live) {
    public JobFigures {
        byState = Map.copyOf(byState);
        live = List.copyOf(live);
    }
}
