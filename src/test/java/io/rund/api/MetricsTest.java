package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Prometheus endpoint of a real rund (rund.metrics.address on loopback, port 0): its text passes promtool's
 * parser (Debian's prometheus package), and its figures move when jobs start and end, with per-job series capped by
 * rund.metrics.max-job-series.
 */
class MetricsTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("rund.metrics.address = \"127.0.0.1:0\"\nrund.metrics.max-job-series = 1\n");

    private static final Path PROMTOOL = Path.of("/usr/bin/promtool");

    @Test
    void theOutputPassesPromtool() throws Exception {
        assumeTrue(Files.isExecutable(PROMTOOL), "promtool is absent (apt-get install prometheus): cannot check the"
                + " exposition with a real parser");
        String id;
        try (RundClient alice = rund.client("alice")) {
            id = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("100").build()).getJobId();
            awaitMetric("rund_job_cpu_seconds_total{job=\"" + id + "\"}");
            String text = scrape();
            Process promtool = new ProcessBuilder(PROMTOOL.toString(), "check", "metrics").redirectErrorStream(true).start();
            promtool.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            promtool.getOutputStream().close();
            String said = new String(promtool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(promtool.waitFor(60, TimeUnit.SECONDS), "promtool did not finish");
            assertEquals(0, promtool.exitValue(), "promtool check metrics: " + said + "\n--- the exposition:\n" + text);
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    @Test
    void figuresChangeWhenJobsStartAndEnd() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            double startsBefore = value(scrape(), "rund_job_starts_total").orElse(0.0);
            double runningBefore = value(scrape(), "rund_jobs{state=\"running\"}").orElseThrow();
            String first = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("100").build()).getJobId();
            String second = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("100").build()).getJobId();
            awaitMetric("rund_job_cpu_seconds_total{job=\"" + first + "\"}");
            awaitValue("rund_jobs{state=\"running\"}", runningBefore + 2);

            String during = scrape();
            assertEquals(startsBefore + 2, value(during, "rund_job_starts_total").orElseThrow());
            assertTrue(value(during, "rund_job_cpu_seconds_total{job=\"" + second + "\"}").isEmpty(),
                    "max-job-series = 1: only the oldest running job has series");
            assertTrue(value(during, "rund_job_series_omitted").orElseThrow() >= 1);
            assertTrue(value(during, "rund_job_start_latency_seconds_count").orElseThrow() >= 2);
            assertTrue(value(during, "process_open_fds").orElseThrow() > 0);

            alice.stop(StopRequest.newBuilder().setJobId(first).build());
            alice.stop(StopRequest.newBuilder().setJobId(second).build());
            alice.status(StatusRequest.newBuilder().setJobId(second).setWaitForEnd(true).build());

            awaitValue("rund_jobs{state=\"running\"}", runningBefore);
            String after = scrape();
            assertTrue(value(after, "rund_job_cpu_seconds_total{job=\"" + first + "\"}").isEmpty(), "an ended job's series are gone");
            assertTrue(value(after, "rund_jobs{state=\"exited\"}").orElseThrow() >= 2);
            assertTrue(value(after, "rund_job_exit_status_latency_seconds_count").orElseThrow() >= 2);
        }
    }

    private static String scrape() throws IOException, InterruptedException {
        int port = rund.rund().metricsPort().orElseThrow();
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            return response.body();
        }
    }

    /** The value of one series ("name" or "name{labels}" exactly as exposed), if the text has it. */
    static Optional<Double> value(String text, String series) {
        Matcher line = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
        return line.find() ? Optional.of(Double.parseDouble(line.group(1))) : Optional.empty();
    }

    private static void awaitMetric(String series) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (value(scrape(), series).isPresent()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(series + " not exposed within 10 s:\n" + scrape());
    }

    private static void awaitValue(String series, double wanted) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (value(scrape(), series).orElse(Double.NaN) == wanted) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(series + " not " + wanted + " within 10 s:\n" + scrape());
    }
}
