package io.rund.bench;

import io.rund.TestCgroups;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code bin/bench [--quick] [--only=start,exit,scale,logs,cli,daemon,adoption,cluster,watch]}: runs rund's benchmarks against real
 * daemons it starts itself, each beside its baseline measured in the same run, prints the table and writes the
 * generated part of docs/BENCHMARKS.md. A section that fails is reported as failed; the others still run, and
 * the exit code is then 1. Needs root and a cgroup2 mount, found as rund finds it (as rund does).
 */
public final class Bench {

    private static final String QUICK = "--quick";
    private static final String ONLY = "--only=";

    /** One benchmark section. */
    private interface Section {
        List<Figure> run(BenchContext bench) throws Exception;
    }

    private Bench() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && (args[0].equals("--soak") || args[0].equals("--finished-heap"))) {
            List<String> rest = List.of(args).subList(1, args.length);
            if (args[0].equals("--soak")) {
                SoakBench.soak(rest);
            } else {
                SoakBench.finishedHeap(rest);
            }
            System.exit(0);
        }
        Set<String> options = Set.of(args);
        boolean quick = options.contains(QUICK);
        Set<String> only = Arrays.stream(args).filter(a -> a.startsWith(ONLY))
                .flatMap(a -> Arrays.stream(a.substring(ONLY.length()).split(",")))
                .collect(Collectors.toSet());
        Map<String, Section> sections = new LinkedHashMap<>();
        sections.put("start", StartBench::run);
        sections.put("exit", ExitBench::run);
        sections.put("scale", ScaleBench::run);
        sections.put("logs", LogFanOutBench::run);
        sections.put("cli", CliBench::run);
        sections.put("daemon", DaemonStartBench::run);
        sections.put("adoption", AdoptionBench::run);
        sections.put("cluster", ClusterBench::run);
        sections.put("watch", WatchBench::run);
        for (String arg : args) {
            if (!arg.equals(QUICK) && !(arg.startsWith(ONLY) && sections.keySet().containsAll(only))) {
                System.err.println("usage: bin/bench [--quick] [--only=" + String.join(",", sections.keySet()) + "]");
                System.exit(2);
            }
        }
        Path repository = Path.of("").toAbsolutePath();
        Optional<String> noCgroups = TestCgroups.whyUnusable();
        if (noCgroups.isPresent()) {
            System.err.println("bench: runs real daemons, so it " + noCgroups.get());
            System.exit(1);
        }
        Path work = Files.createTempDirectory("rund-bench-");
        BenchContext bench = new BenchContext(quick ? BenchPlan.quick() : BenchPlan.full(), repository, work);
        List<Figure> figures = new ArrayList<>();
        boolean failed = false;
        long begin = System.nanoTime();
        try {
            // bin/rund makes the daemon's AOT cache on the first serve after a build: not on a measured start.
            bench.progress("preparing: one daemon start and stop (makes bin/rund's AOT cache for serve if needed)");
            bench.startDaemon().close();
            for (Map.Entry<String, Section> section : sections.entrySet()) {
                if (!only.isEmpty() && !only.contains(section.getKey())) {
                    continue;
                }
                long sectionBegin = System.nanoTime();
                try {
                    figures.addAll(section.getValue().run(bench));
                    bench.progress(String.format("%s: done in %.0f s", section.getKey(), (System.nanoTime() - sectionBegin) / 1e9));
                } catch (Exception e) {
                    failed = true;
                    System.err.println("bench: section " + section.getKey() + " failed:");
                    e.printStackTrace();
                    figures.add(new Figure(section.getKey(), "section failed", "").note(String.valueOf(e)));
                }
            }
        } finally {
            BenchDaemon.deleteRecursively(work);
        }
        Report report = new Report(Report.machine(repository, quick), figures);
        System.out.println(report.console());
        if (only.isEmpty()) {
            Path file = repository.resolve("docs/BENCHMARKS.md");
            report.writeInto(file);
            System.err.printf("bench: wrote %s (%.0f s)%n", file, (System.nanoTime() - begin) / 1e9);
        } else {
            Path partial = repository.resolve("target/bench-only.md");
            Files.writeString(partial, report.markdown());
            System.err.println("bench: --only runs do not update docs/BENCHMARKS.md; their table is in " + partial);
        }
        System.exit(failed ? 1 : 0);
    }
}
