package io.rund.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * 4. Log fan-out: the log-streaming benchmark ({@link LogFanoutBenchmark}: one job, N followers over TLS, a real
 * rund in a JVM of its own) beside its baseline measured in the same run (the same server serving Logs the way
 * the original jobworker did: one file descriptor per follower, polling at the end of the file), as table rows.
 */
final class LogFanOutBench {

    static final String SECTION = "4. Log fan-out";

    private LogFanOutBench() {}

    static List<Figure> run(BenchContext bench) throws Exception {
        LogFanoutBenchmark.Options options = bench.plan().logFanOut();
        bench.progress("log fan-out: " + options.followerCounts() + " followers, rund and the polling baseline");
        List<LogFanoutBenchmark.Figures> measured = LogFanoutBenchmark.run(options);
        List<Figure> figures = new ArrayList<>();
        for (int followers : options.followerCounts()) {
            LogFanoutBenchmark.Figures rund = find(measured, LogFanoutBenchmark.RUND, followers);
            LogFanoutBenchmark.Figures baseline = find(measured, LogFanoutBenchmark.BASELINE, followers);
            String who = String.format(Locale.ROOT, "%,d followers", followers);
            figures.addAll(pair(who + ", delivered", "MB/s", rund.deliveredMBps(), baseline.deliveredMBps()));
            figures.addAll(pair(who + ", latency p50", "ms", rund.latencyP50Millis(), baseline.latencyP50Millis()));
            figures.addAll(pair(who + ", latency p99", "ms", rund.latencyP99Millis(), baseline.latencyP99Millis()));
            figures.addAll(pair(who + ", server heap per follower", "KiB", rund.heapKiBPerFollower(),
                    baseline.heapKiBPerFollower()));
        }
        return figures;
    }

    /** The rund figure compared with the baseline's. */
    private static List<Figure> pair(String name, String unit, double rund, double baseline) {
        Figure base = new Figure(SECTION, "baseline (fd per follower, 50 ms polling): " + name, unit).add(baseline)
                .as("fd-per-follower polling baseline");
        Figure ours = new Figure(SECTION, name, unit).add(rund).comparedWith(base);
        return List.of(ours, base);
    }

    private static LogFanoutBenchmark.Figures find(List<LogFanoutBenchmark.Figures> measured, String server, int followers) {
        return measured.stream().filter(f -> f.server().equals(server) && f.followers() == followers).findFirst()
                .orElseThrow(() -> new IllegalStateException("no " + server + " figures for " + followers + " followers"));
    }
}
