package io.rund.vm;

import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.reporting.ReportEntry;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/**
 * Runs the given JUnit test classes (or single test methods) in this JVM through the JUnit Platform launcher (what Surefire uses), for the
 * pure cgroup v2 VM (src/test/vm/suite.sh), where starting Maven would cost minutes under software emulation. Prints
 * one line per test (PASS, SKIP with the reason, FAIL with the stack trace) and per class (time, counts), then the
 * totals; exits 1 if any test failed or a class ran no test at all, else 0.
 */
public final class VmTestSuite {

    private static final int EXIT_FAILED = 1;
    private static final int EXIT_USAGE = 2;
    private static final double NANOS_PER_SECOND = 1e9;

    private VmTestSuite() {}

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: VmTestSuite TEST_CLASS|TEST_CLASS#METHOD...");
            System.exit(EXIT_USAGE);
        }
        for (String name : args) {
            String className = name.contains("#") ? name.substring(0, name.indexOf('#')) : name;
            try {
                Class.forName(className, false, VmTestSuite.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                System.out.println("FAIL no test class " + className + " (renamed or removed? update src/test/vm/suite.sh)");
                System.exit(EXIT_FAILED);
            }
        }
        LauncherDiscoveryRequest discovery = request()
                .selectors(Arrays.stream(args).map(VmTestSuite::selector).toList())
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        ClassLines lines = new ClassLines();
        long begin = System.nanoTime();
        launcher.execute(discovery, summary, lines);
        TestExecutionSummary totals = summary.getSummary();
        System.out.printf("VM suite: %d selections, %d tests: %d passed, %d skipped, %d failed, in %.0f s%n",
                args.length, totals.getTestsFoundCount(), totals.getTestsSucceededCount(),
                totals.getTestsSkippedCount() + totals.getTestsAbortedCount(),
                totals.getTotalFailureCount(), (System.nanoTime() - begin) / NANOS_PER_SECOND);
        // A class skipped as a whole (its fixture's assumption failed) proves nothing here, where everything it
        // needs should exist: that fails the suite as a failed test would.
        boolean emptyClass = !lines.classesWithoutTests.isEmpty();
        if (emptyClass) {
            System.out.println("FAIL no test ran in " + String.join(", ", lines.classesWithoutTests.keySet()));
        }
        System.out.flush();
        System.exit(totals.getTotalFailureCount() > 0 || emptyClass ? EXIT_FAILED : 0);
    }

    /** A whole class ({@code io.rund.x.FooTest}) or one of its test methods ({@code io.rund.x.FooTest#bar}). */
    private static DiscoverySelector selector(String name) {
        return name.contains("#") ? selectMethod(name) : selectClass(name);
    }

    /** Prints each test's outcome as it ends, and each class's time and counts. */
    private static final class ClassLines implements TestExecutionListener {
        private final Map<String, Long> classStarts = new ConcurrentHashMap<>();
        private final Map<String, int[]> classCounts = new ConcurrentHashMap<>();
        final Map<String, Boolean> classesWithoutTests = new ConcurrentHashMap<>();
        private TestPlan plan;

        @Override
        public void testPlanExecutionStarted(TestPlan testPlan) {
            plan = testPlan;
        }

        @Override
        public void executionStarted(TestIdentifier test) {
            if (isClass(test)) {
                classStarts.put(test.getUniqueId(), System.nanoTime());
                classCounts.put(test.getUniqueId(), new int[3]);
                System.out.println("== " + test.getLegacyReportingName());
            }
        }

        @Override
        public void executionSkipped(TestIdentifier test, String reason) {
            if (isClass(test)) {
                System.out.println("SKIP " + test.getLegacyReportingName() + " (whole class): " + reason);
                classesWithoutTests.put(test.getLegacyReportingName(), true);
                return;
            }
            System.out.println("SKIP " + name(test) + ": " + reason);
            count(test, 1);
        }

        @Override
        public void executionFinished(TestIdentifier test, TestExecutionResult result) {
            if (isClass(test)) {
                int[] counts = classCounts.getOrDefault(test.getUniqueId(), new int[3]);
                double seconds = (System.nanoTime() - classStarts.get(test.getUniqueId())) / NANOS_PER_SECOND;
                System.out.printf("== %s: %d passed, %d skipped, %d failed in %.1f s%n", test.getLegacyReportingName(),
                        counts[0], counts[1], counts[2], seconds);
                if (counts[0] + counts[1] + counts[2] == 0) {
                    classesWithoutTests.put(test.getLegacyReportingName(), true);
                }
                if (result.getStatus() == TestExecutionResult.Status.FAILED) {
                    System.out.println("FAIL " + test.getLegacyReportingName() + " (class setup or teardown): "
                            + trace(result.getThrowable().orElse(null)));
                }
                if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
                    System.out.println("SKIP " + test.getLegacyReportingName() + " (whole class): "
                            + result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
                }
                return;
            }
            if (!test.isTest()) {
                return;
            }
            switch (result.getStatus()) {
                case SUCCESSFUL -> {
                    System.out.println("PASS " + name(test));
                    count(test, 0);
                }
                case ABORTED -> {
                    System.out.println("SKIP " + name(test) + ": "
                            + result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
                    count(test, 1);
                }
                case FAILED -> {
                    System.out.println("FAIL " + name(test) + ": " + trace(result.getThrowable().orElse(null)));
                    count(test, 2);
                }
            }
        }

        @Override
        public void reportingEntryPublished(TestIdentifier test, ReportEntry entry) {
            System.out.println("     " + name(test) + ": " + entry.getKeyValuePairs());
        }

        private void count(TestIdentifier test, int outcome) {
            TestIdentifier owner = test;
            while (owner != null && !isClass(owner)) {
                owner = plan.getParent(owner).orElse(null);
            }
            if (owner != null) {
                classCounts.computeIfAbsent(owner.getUniqueId(), id -> new int[3])[outcome]++;
            }
        }

        private static boolean isClass(TestIdentifier test) {
            return test.isContainer() && test.getSource().filter(ClassSource.class::isInstance).isPresent();
        }

        private String name(TestIdentifier test) {
            String parent = plan.getParent(test).map(TestIdentifier::getLegacyReportingName).orElse("");
            return parent.isEmpty() ? test.getDisplayName() : parent + "." + test.getDisplayName();
        }

        private static String trace(Throwable failure) {
            if (failure == null) {
                return "(no exception)";
            }
            StringWriter text = new StringWriter();
            failure.printStackTrace(new PrintWriter(text));
            return text.toString();
        }
    }
}
