package io.rund.bench;

import io.rund.cli.RundClient;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * 5. The CLI as a user meets it: {@code bin/rund status ID}, {@code start -- /bin/true} and {@code run -- /bin/true}
 * as whole processes (the page cache is warm, as it is for anyone who runs rund twice), against a Java hello-world run
 * by the same JDK, the floor of any JVM command. Each through the per-user CLI agent (bin/rund's default) and with
 * RUND_AGENT=off (a fresh JVM per command from the AOT cache). Wall time, and client CPU: user+sys of the whole process
 * tree (this JVM's reaped children, /proc/self/stat cutime+cstime) plus, through the agent, the agent's own CPU over
 * the command (/proc/AGENT/stat utime+stime), so the agent's share is counted. Runs alternate between all of them.
 */
final class CliBench {

    static final String SECTION = "5. CLI";
    /** Issue 15's targets: wall within 3x the hello-world of the same run, client CPU at most 0.25 s. */
    private static final double WALL_RATIO = 3.0;
    private static final double CPU_SECONDS = 0.25;
    private static final String AGENT_MAIN = "io.rund.cli.CliAgent";
    /** /proc/PID/stat fields (1-based) after the command name: utime, stime, cutime, cstime. */
    private static final int UTIME = 14;
    private static final int CUTIME = 16;
    private static final double TICKS_PER_SECOND = 100.0;

    private CliBench() {}

    /** One command line measured two ways: wall ms and client CPU s. */
    private record Measured(Figure wall, Figure cpu, List<String> args, String expected, Map<String, String> extraEnv) {}

    static List<Figure> run(BenchContext bench) throws Exception {
        Figure hello = new Figure(SECTION, "Java hello-world, whole process (floor)", "ms").as("hello-world");
        Figure helloCpu = new Figure(SECTION, "Java hello-world, CPU user+sys", "s").as("hello-world CPU");
        List<Measured> commands = new ArrayList<>();
        List<Figure> figures = new ArrayList<>();
        try (BenchDaemon daemon = bench.startDaemon()) {
            String id;
            try (RundClient client = bench.client(daemon)) {
                id = client.start(StartRequest.newBuilder().setCommand("/bin/true").build()).getJobId();
                client.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build());
            }
            for (String mode : List.of("agent", "RUND_AGENT=off")) {
                Map<String, String> extra = mode.equals("agent") ? Map.of() : Map.of("RUND_AGENT", "off");
                String how = mode.equals("agent") ? "through the agent" : "RUND_AGENT=off (cold JVM)";
                commands.add(measured("rund status ID, " + how, List.of("status", id), id, extra, hello));
                commands.add(measured("rund start -- /bin/true, " + how, List.of("start", "--", "/bin/true"), "", extra, hello));
                commands.add(measured("rund run -- /bin/true, " + how, List.of("run", "--", "/bin/true"), "", extra, hello));
            }
            List<String> helloCommand = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", bench.repository().resolve("target/test-classes").toString(), HelloWorld.class.getName());
            Map<String, String> env = clientEnvironment(bench, daemon);
            ensureAotCacheAndAgent(bench, id, env);
            try {
                for (int run = 1; run <= bench.plan().cliRuns(); run++) {
                    double[] helloRun = timed(bench, helloCommand, Map.of(), "hello, world", OptionalLong.empty());
                    hello.add(helloRun[0]);
                    helloCpu.add(helloRun[1]);
                    for (Measured command : commands) {
                        Map<String, String> commandEnv = new HashMap<>(env);
                        commandEnv.putAll(command.extraEnv());
                        OptionalLong agent = command.extraEnv().isEmpty() ? agentPid(bench) : OptionalLong.empty();
                        double[] result = timed(bench, rund(bench, command.args()), commandEnv, command.expected(), agent);
                        command.wall().add(result[0]);
                        command.cpu().add(result[1]);
                    }
                }
            } finally {
                stopAgent(bench);
            }
            bench.progress("cli: " + bench.plan().cliRuns() + " runs each");
        }
        for (Measured command : commands) {
            figures.add(command.wall());
            figures.add(command.cpu());
        }
        figures.add(hello);
        figures.add(helloCpu);
        return figures;
    }

    private static Measured measured(String name, List<String> args, String expected, Map<String, String> extraEnv, Figure hello) {
        Figure wall = new Figure(SECTION, name + ", wall", "ms").comparedWith(hello)
                .target("≤ 3× hello-world", v -> hello.measured() && v <= WALL_RATIO * hello.median());
        Figure cpu = new Figure(SECTION, name + ", client CPU" + (extraEnv.isEmpty() ? " incl. the agent's" : ""), "s")
                .target("≤ 0.25 s", v -> v <= CPU_SECONDS);
        return new Measured(wall, cpu, args, expected, extraEnv);
    }

    private static List<String> rund(BenchContext bench, List<String> args) {
        List<String> line = new ArrayList<>(List.of(bench.repository().resolve("bin/rund").toString()));
        line.addAll(args);
        return line;
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
     * instead: let that be this one. The first command through bin/rund also starts the agent: wait for it, and give
     * it one command so its first connection is not measured (as a user's second command finds it).
     */
    private static void ensureAotCacheAndAgent(BenchContext bench, String id, Map<String, String> env) throws Exception {
        bench.progress("cli: a first command (makes bin/rund's AOT cache if the build is new, starts the agent)");
        stopAgent(bench);
        timed(bench, rund(bench, List.of("status", id)), env, id, OptionalLong.empty());
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (agentPid(bench).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        Thread.sleep(2_000);
        timed(bench, rund(bench, List.of("status", id)), env, id, OptionalLong.empty());
    }

    /** The agent bin/rund started for this checkout, if it runs. */
    private static OptionalLong agentPid(BenchContext bench) throws IOException {
        String home = "-Drund.home=" + bench.repository().toAbsolutePath().normalize();
        try (var processes = Files.list(Path.of("/proc"))) {
            for (Path process : processes.toList()) {
                String name = process.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String line = new String(Files.readAllBytes(process.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                    if (line.contains(AGENT_MAIN) && line.contains(home + " ")) {
                        return OptionalLong.of(Long.parseLong(name));
                    }
                } catch (IOException gone) {
                    // Ended meanwhile.
                }
            }
        }
        return OptionalLong.empty();
    }

    /** Stops the agent this bench's commands started (by its pid), so none is left behind. */
    private static void stopAgent(BenchContext bench) throws Exception {
        OptionalLong pid = agentPid(bench);
        if (pid.isPresent()) {
            ProcessHandle.of(pid.getAsLong()).ifPresent(agent -> {
                agent.destroy();
                agent.onExit().orTimeout(60, java.util.concurrent.TimeUnit.SECONDS).join();
            });
        }
    }

    /**
     * Runs {@code command} to its end; returns how long the whole process took (ms) and the CPU it and its reaped
     * descendants used, plus the agent's over the same time if {@code agent} is given (s). Checks its output.
     */
    private static double[] timed(BenchContext bench, List<String> command, Map<String, String> env, String expected,
                                  OptionalLong agent) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).directory(bench.repository().toFile());
        builder.environment().putAll(env);
        long childrenBefore = ticks(Path.of("/proc/self/stat"), CUTIME);
        long agentBefore = agent.isPresent() ? ticks(Path.of("/proc", Long.toString(agent.getAsLong()), "stat"), UTIME) : 0;
        long begin = System.nanoTime();
        Process process = builder.start();
        byte[] out = process.getInputStream().readAllBytes();
        byte[] err = process.getErrorStream().readAllBytes();
        int code = process.waitFor();
        long nanos = System.nanoTime() - begin;
        long agentAfter = agent.isPresent() ? ticks(Path.of("/proc", Long.toString(agent.getAsLong()), "stat"), UTIME) : 0;
        long childrenAfter = ticks(Path.of("/proc/self/stat"), CUTIME);
        String output = new String(out, StandardCharsets.UTF_8);
        if (code != 0 || !output.contains(expected)) {
            throw new IOException(String.join(" ", command) + " exited " + code + ": " + output
                    + new String(err, StandardCharsets.UTF_8));
        }
        return new double[] {nanos / 1e6, (childrenAfter - childrenBefore + agentAfter - agentBefore) / TICKS_PER_SECOND};
    }

    /** The sum of two adjacent /proc/PID/stat fields from {@code first} (utime+stime, or cutime+cstime), in ticks. */
    private static long ticks(Path stat, int first) throws IOException {
        String text = Files.readString(stat);
        String[] fields = text.substring(text.lastIndexOf(')') + 2).split(" ");
        // fields[0] is field 3 (state).
        return Long.parseLong(fields[first - 3]) + Long.parseLong(fields[first - 2]);
    }
}
