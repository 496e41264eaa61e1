package io.rund;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.HostPort;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One tenant floods a real {@code rund serve} whose heap is 256 MiB with Starts carrying 1 MiB of arguments (a
 * daemon without byte budgets kept every one and died of OutOfMemoryError after about 240): first jobs that keep
 * running, then jobs that end at once. The flood gets RESOURCE_EXHAUSTED refusals and nothing else, the finished jobs
 * are all kept, their arguments on disk rather than in the heap, and the daemon survives: another identity still starts, sees and stops its job,
 * and SIGTERM then ends the daemon with status 0, leaving no cgroup and no OutOfMemoryError in its output.
 */
class StartFloodTest {

    private static final String HEAP = "-Xmx256m";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(90);
    /** Each flood phase stops after this many Starts or this long, whichever comes first. */
    private static final int STARTS_PER_PHASE = 300;
    private static final Duration PHASE_TIMEOUT = Duration.ofSeconds(120);
    private static final int FLOODING_THREADS = 4;
    /** 8 arguments just under the kernel's cap on one (128 KiB with its NUL): 1 MiB of arguments in all. */
    private static final int BIG_ARGS = 8;
    private static final int BIG_ARG_BYTES = 128_000;
    private static final String READY = "rund serves on";
    private static final String FORGOT = "Removed finished job";
    /** What a removal past a byte budget says after the job (retention and Delete say otherwise). */
    private static final String PAST_A_BUDGET = "keeping it would pass rund.tenants.max-retained-bytes";

    @TempDir
    Path scratch;
    private Path cgroupRoot;
    private Process daemon;
    private Path output;
    private HostPort address;

    @BeforeEach
    void startDaemon() throws Exception {
        cgroupRoot = TestCgroups.newRoot("rund-test");
        output = scratch.resolve("daemon.log");
        int port = freePort();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), HEAP, "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                "io.rund.cli.RundCli", "serve", "--addr", "127.0.0.1:" + port,
                "--ca", ExampleCertificates.CA.toAbsolutePath().toString(),
                "--cert", ExampleCertificates.server().cert().toAbsolutePath().toString(),
                "--key", ExampleCertificates.server().key().toAbsolutePath().toString())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        Map<String, String> env = builder.environment();
        env.put("RUND_STATE_DIR", scratch.resolve("state").toString());
        env.put("RUND_CGROUP_ROOT", cgroupRoot.toString());
        env.put("RUND_STOP_GRACE", "2s");
        daemon = builder.start();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!Files.readString(output).contains(READY)) {
            assertTrue(daemon.isAlive(), "rund serve exited early:\n" + Files.readString(output));
            assertTrue(System.nanoTime() < deadline, "rund serve did not come up in " + READY_TIMEOUT + ":\n" + Files.readString(output));
            Thread.sleep(100);
        }
        address = new HostPort("127.0.0.1", port);
    }

    @AfterEach
    void stopDaemon() throws Exception {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroyForcibly().waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }
        if (cgroupRoot != null) {
            TestCgroups.removeTree(cgroupRoot);
        }
    }

    @Test
    void aFloodOfStartsWithOneMebibyteOfArgumentsIsRefusedAndTheDaemonSurvives() throws Exception {
        long rssBefore = rssBytes(daemon.pid());

        Flood sleepers = flood("alice", "exec sleep 600");
        System.out.println("sleep 600 flood: " + sleepers + "; daemon RSS " + rssBytes(daemon.pid()) / (1 << 20) + " MiB");
        assertTrue(daemon.isAlive(), "the daemon must survive the flood of running jobs:\n" + tail());
        assertTrue(sleepers.started() > 0, "a budget holds some such jobs: " + sleepers);
        assertTrue(sleepers.refused() > 0, "running jobs beyond the budget must be refused: " + sleepers);
        assertEquals(List.of(), sleepers.otherFailures(), "every failed Start must be a RESOURCE_EXHAUSTED refusal");

        Flood quick = flood("bob", "exec /bin/true");
        long forgotten = Files.readAllLines(output).stream().filter(line -> line.contains(FORGOT) && line.contains(PAST_A_BUDGET)).count();
        System.out.println("/bin/true flood: " + quick + "; " + forgotten + " finished jobs forgotten; daemon RSS "
                + rssBytes(daemon.pid()) / (1 << 20) + " MiB (" + rssBefore / (1 << 20) + " MiB before the floods)");
        assertTrue(daemon.isAlive(), "the daemon must survive the flood of jobs that end at once:\n" + tail());
        assertTrue(quick.started() > 0, quick.toString());
        assertEquals(List.of(), quick.otherFailures(), "every failed Start must be a RESOURCE_EXHAUSTED refusal");
        // A finished job keeps its 1 MiB of arguments only in its record on disk (rund.jobs.finished-args-in-memory),
        // so its charge is small: every one of the flood's finished jobs stays, listable, with no budget passed.
        assertEquals(0, forgotten, "finished jobs cost about 2 KiB each: none has to be forgotten");
        try (RundClient bob = RundClient.connect(address, ExampleCertificates.files("bob"))) {
            int listed = 0;
            String token = "";
            do { // a page reads back at most rund.jobs.list-read-back-bytes of arguments: a few such jobs
                ListResponse page = bob.list(ListRequest.newBuilder().setPageToken(token).build());
                // bob shares a team SAN with alice, so he sees her sleepers too: count the flood's own jobs
                listed += (int) page.getJobsList().stream().filter(job -> job.getArgsList().contains("exec /bin/true")).count();
                token = page.getNextPageToken();
            } while (!token.isEmpty());
            assertEquals(quick.started(), listed, "every finished job of the flood is kept and listed");
        }

        try (RundClient carol = RundClient.connect(address, ExampleCertificates.files("carol"))) {
            String id = carol.start(StartRequest.newBuilder().setCommand("sleep").addArgs("1000").build()).getJobId();
            assertEquals(JobState.JOB_STATE_RUNNING, carol.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getState());
            assertEquals(List.of(id), carol.list(ListRequest.getDefaultInstance()).getJobsList().stream()
                    .map(job -> job.getId()).toList());
            assertTrue(carol.stop(StopRequest.newBuilder().setJobId(id).build()).getStatus().getStoppedByRequest());
        }

        daemon.destroy(); // SIGTERM, by the pid of the daemon this test started
        assertTrue(daemon.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS), "the daemon must stop on SIGTERM");
        assertEquals(0, daemon.exitValue(), tail());
        assertFalse(Files.exists(cgroupRoot), "the daemon must remove its cgroup subtree " + cgroupRoot);
        assertFalse(Files.readString(output).contains("OutOfMemoryError"), tail());
    }

    /** What one flood phase got back. */
    private record Flood(int started, int refused, List<String> otherFailures, String firstRefusal) {}

    /** {@link #FLOODING_THREADS} threads on one connection as {@code identity} start {@code sh -c SCRIPT} with 1 MiB of arguments. */
    private Flood flood(String identity, String script) throws Exception {
        StartRequest.Builder request = StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs(script).addArgs("sh");
        for (int i = 0; i < BIG_ARGS; i++) {
            request.addArgs(Character.toString('a' + i).repeat(BIG_ARG_BYTES));
        }
        StartRequest start = request.build();
        AtomicInteger attempts = new AtomicInteger();
        AtomicInteger started = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        ConcurrentLinkedQueue<String> firstRefusal = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> others = new ConcurrentLinkedQueue<>();
        long deadline = System.nanoTime() + PHASE_TIMEOUT.toNanos();
        ExecutorService threads = Executors.newFixedThreadPool(FLOODING_THREADS);
        try (RundClient client = RundClient.connect(address, ExampleCertificates.files(identity))) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < FLOODING_THREADS; t++) {
                done.add(threads.submit(() -> {
                    while (attempts.getAndIncrement() < STARTS_PER_PHASE && System.nanoTime() < deadline && daemon.isAlive()) {
                        try {
                            client.start(start);
                            started.incrementAndGet();
                        } catch (StatusRuntimeException e) {
                            Status status = e.getStatus();
                            if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                                refused.incrementAndGet();
                                if (firstRefusal.isEmpty()) {
                                    firstRefusal.add(status.getDescription());
                                }
                            } else {
                                others.add(status.getCode() + ": " + status.getDescription());
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> thread : done) {
                thread.get();
            }
        } finally {
            threads.shutdownNow();
        }
        return new Flood(started.get(), refused.get(), List.copyOf(others), firstRefusal.peek());
    }

    private String tail() throws IOException {
        List<String> lines = Files.readAllLines(output);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static long rssBytes(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        return -1;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
