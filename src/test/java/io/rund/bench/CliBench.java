package io.rund.bench;

import io.rund.cli.RundClient;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * 5. The CLI as a user meets it: {@code bin/rund status ID} as a whole process, a fresh JVM each time (the page
 * cache is warm, as it is for anyone who runs rund twice), against a Java hello-world run by the same JDK, the
 * floor of any JVM command. Runs alternate between the two. bin/rund's AOT cache is made before the first one.
 */
final class CliBench {

    static final String SECTION = "5. CLI";
    private CliBench() {}

    static List<Figure> run(BenchContext bench) throws Exception {
        Figure hello = new Figure(SECTION, "Java hello-world, whole process (floor)", "ms");
        Figure status = new Figure(SECTION, "rund status ID, whole process, cold JVM", "ms")
                .comparedWith(hello)
                .target("≤ 300 ms", v -> v <= 300);
        try (BenchDaemon daemon = bench.startDaemon()) {
            String id;
            try (RundClient client = bench.client(daemon)) {
                id = client.start(StartRequest.newBuilder().setCommand("/bin/true").build()).getJobId();
                client.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build());
            }
            List<String> statusCommand = List.of(bench.repository().resolve("bin/rund").toString(), "status", id);
            List<String> helloCommand = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", bench.repository().resolve("target/test-classes").toString(), HelloWorld.class.getName());
            Map<String, String> env = clientEnvironment(bench, daemon);
            ensureAotCache(bench, statusCommand, env);
            for (int run = 1; run <= bench.plan().cliRuns(); run++) {
                hello.add(timedMillis(bench, helloCommand, Map.of(), "hello, world"));
                status.add(timedMillis(bench, statusCommand, env, id));
            }
            bench.progress("cli: " + bench.plan().cliRuns() + " runs each");
        }
        return List.of(status, hello);
    }

    private static Map<String, String> clientEnvironment(BenchContext bench, BenchDaemon daemon) {
        Path tls = bench.repository().resolve("tls");
        return Map.of("RUND_ADDR", daemon.address().toString(),
                "RUND_CA", tls.resolve("ca.pem").toString(),
                "RUND_CERT", tls.resolve("client.pem").toString(),
                "RUND_KEY", tls.resolve("client-key.pem").toString());
    }

    /**
     * bin/rund makes its AOT cache for client commands right after a build (bin/bench's first bin/rund did), from a
     * training run against a daemon of its own; where no daemon can run, it records the first client command
     * instead: let that be this one.
     */
    private static void ensureAotCache(BenchContext bench, List<String> command, Map<String, String> env) throws Exception {
        bench.progress("cli: a first command (makes bin/rund's AOT cache if the build is new)");
        timedMillis(bench, command, env, "");
    }

    /** Runs {@code command} to its end and returns how long the whole process took; checks its output. */
    private static double timedMillis(BenchContext bench, List<String> command, Map<String, String> env, String expected)
            throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).directory(bench.repository().toFile());
        builder.environment().putAll(env);
        long begin = System.nanoTime();
        Process process = builder.start();
        byte[] out = process.getInputStream().readAllBytes();
        byte[] err = process.getErrorStream().readAllBytes();
        int code = process.waitFor();
        long nanos = System.nanoTime() - begin;
        String output = new String(out, StandardCharsets.UTF_8);
        if (code != 0 || !output.contains(expected)) {
            throw new IOException(String.join(" ", command) + " exited " + code + ": " + output
                    + new String(err, StandardCharsets.UTF_8));
        }
        return nanos / 1e6;
    }
}
