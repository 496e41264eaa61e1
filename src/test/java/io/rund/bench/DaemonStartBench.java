package io.rund.bench;

import java.util.List;

/**
 * 6. Daemon start: from exec of {@code bin/rund serve} until it completes a TLS handshake with a client
 * certificate (probed every 2 ms), with a fresh state directory and cgroup root each time. No baseline: the
 * JVM floor is the hello-world of section 5.
 */
final class DaemonStartBench {

    static final String SECTION = "6. Daemon start";

    private DaemonStartBench() {}

    static List<Figure> run(BenchContext bench) throws Exception {
        Figure ready = new Figure(SECTION, "rund serve → first TLS handshake accepted", "ms")
                .target("≤ 1,500 ms", v -> v <= 1_500);
        for (int run = 1; run <= bench.plan().daemonStarts(); run++) {
            bench.progress("daemon start: run " + run + "/" + bench.plan().daemonStarts());
            try (BenchDaemon daemon = bench.startDaemon()) {
                ready.add(daemon.readyNanos() / 1e6);
            }
        }
        return List.of(ready);
    }
}
