package io.rund.bench;

import java.util.List;

/**
 * 4. Log fan-out: HOOK FOR ISSUE 5 (log streaming). The log-streaming work brings its own fan-out measurement
 * (1,000 and 10,000 followers of one job) as a class with a static method; call it from {@link #run} and turn
 * its numbers into {@link Figure}s of {@link #SECTION}. Until then the table shows the row as pending.
 */
final class LogFanOutHook {

    static final String SECTION = "4. Log fan-out";

    private LogFanOutHook() {}

    static List<Figure> run(BenchContext bench) {
        // ISSUE 5 HOOK: replace this row with the figures of the issue-5 fan-out benchmark.
        return List.of(new Figure(SECTION, "1,000 and 10,000 followers of one job", "")
                .note("pending issue 5 (log streaming)"));
    }
}
