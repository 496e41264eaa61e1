package io.rund.bench;

import java.time.Duration;

/**
 * How much each benchmark does: the full run (repetitions for min/median/max, thousands of samples, 10,000 jobs)
 * or the quick one CI runs (same figures, fewer samples, fewer jobs: under three minutes on the 2-core machines).
 *
 * @param repetitions       runs per figure; each run yields one value, the table shows min/median/max over them
 * @param throughputRepetitions runs per sustained-throughput figure (each costs a window per method)
 * @param startSamples      sequential starts per run for the start-latency percentiles
 * @param warmUpStarts      jobs a fresh daemon runs before it is measured: its JIT compiles for thousands of calls
 * @param throughputWindow  how long each sustained-throughput run starts jobs
 * @param exitSamples       exits per run for the exit-notification percentiles
 * @param crowdSizes        how many other (sleeping) jobs are watched during the exit runs
 * @param scaleJobs         sleeping jobs in the scale run
 * @param cliRuns           cold CLI processes (the median is the figure; at least 10)
 * @param daemonStarts      daemon starts timed until a TLS handshake succeeds
 * @param logFanOut         the log fan-out benchmark's follower counts and volumes (one run each: it is long)
 */
record BenchPlan(int repetitions, int throughputRepetitions, int startSamples, int warmUpStarts, Duration throughputWindow,
                 int exitSamples, int[] crowdSizes, int scaleJobs, int cliRuns, int daemonStarts,
                 LogFanoutBenchmark.Options logFanOut, int adoptionJobs) {

    static final int[] CLIENT_COUNTS = {1, 8, 64};

    static BenchPlan full() {
        return new BenchPlan(5, 5, 1000, 2000, Duration.ofSeconds(4), 200, new int[] {10, 2000}, 10_000, 20, 5,
                LogFanoutBenchmark.Options.defaults(), 1_000);
    }

    static BenchPlan quick() {
        return new BenchPlan(3, 2, 200, 300, Duration.ofSeconds(1), 20, new int[] {10, 2000}, 1_000, 10, 3,
                quickFanOut(), 200);
    }

    /**
     * Both sizes, 1,000 and 10,000 followers, with short warm-up and paced phases and a 100 MB burst (10 KB per
     * follower at 10,000), so that the 10,000 case costs mostly its streams' setup (its time: docs/BENCHMARKS.md,
     * "Where the fan-out's time and bytes go").
     */
    private static LogFanoutBenchmark.Options quickFanOut() {
        LogFanoutBenchmark.Options full = LogFanoutBenchmark.Options.defaults();
        return new LogFanoutBenchmark.Options(full.followerCounts(), 100_000_000L, Duration.ofSeconds(2),
                Duration.ofSeconds(2), full.pacedLinesPerSecondInAll(), full.lineBytes(), full.followersPerConnection(),
                full.baselinePoll(), full.clientWindowBytes());
    }
}
