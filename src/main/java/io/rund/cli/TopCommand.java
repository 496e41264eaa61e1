package io.rund.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.DeviceIo;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.StatsRequest;
import io.rund.proto.v1.StatsSample;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code rund top [--interval 2s] [-n N]}: a table of the caller's running jobs (id, host in a cluster, state, CPU %,
 * memory, pids, io rates) refreshed at the interval. Rates are the change between two refreshes, so the first table
 * shows "-" for them. On a terminal each table replaces the last; otherwise (batch mode, like top -b) tables follow
 * one another with no terminal control codes. A job that ends between the listing and its sample is left out.
 */
@Command(name = "top", mixinStandardHelpOptions = true,
        description = "Show the caller's running jobs with their live CPU, memory, pids and io rates, refreshed at an "
                + "interval (batch output, without terminal codes, when stdout is not a terminal).")
final class TopCommand implements Callable<Integer> {

    /** ANSI: cursor home, then erase the screen. */
    private static final String CLEAR_SCREEN = "\033[H\033[2J";
    private static final double PERCENT = 100.0;
    private static final double MICROS_PER_SECOND = 1e6;
    private static final String UNKNOWN = "-";
    private static final String[] UNITS = {"B", "K", "M", "G", "T"};
    private static final double KIBI = 1024.0;

    @ParentCommand
    RundCli cli;

    @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "2s",
            description = "Time between refreshes (default: 2s).")
    String interval;

    @Option(names = {"-n", "--iterations"}, paramLabel = "N",
            description = "Stop after N tables (default: until interrupted).")
    Integer iterations;

    @Mixin
    ConnectionOptions connection;

    /** What the previous table saw of a job, for its rates. */
    private record Previous(Instant time, long cpuMicros, long readBytes, long writeBytes) {}

    @Override
    public Integer call() throws CliException {
        Duration every = Intervals.parse("--interval", interval);
        if (iterations != null && iterations < 1) {
            throw new CliException(ExitCodes.USAGE, "-n: must be at least 1, was " + iterations);
        }
        boolean terminal = cli.stdoutIsTerminal();
        Map<String, Previous> previous = new HashMap<>();
        try (RundClient client = connection.connect()) {
            for (int shown = 0; iterations == null || shown < iterations; shown++) {
                if (shown > 0) {
                    sleep(every);
                }
                List<String> table;
                try {
                    table = table(client, previous);
                } catch (StatusRuntimeException e) {
                    throw ConnectionOptions.failure(client, e);
                }
                StringBuilder screen = new StringBuilder(terminal ? CLEAR_SCREEN : (shown > 0 ? "\n" : ""));
                screen.append(String.join("\n", table));
                cli.println(screen.toString());
            }
        }
        return ExitCodes.OK;
    }

    private List<String> table(RundClient client, Map<String, Previous> previous) {
        List<JobStatus> jobs = runningJobs(client);
        boolean clustered = jobs.stream().anyMatch(job -> !job.getHost().isEmpty());
        List<String> lines = new ArrayList<>();
        lines.add("rund top - " + Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + ", "
                + jobs.size() + " running job" + (jobs.size() == 1 ? "" : "s"));
        lines.add(row(clustered, "ID", "HOST", "STATE", "CPU%", "MEM", "PIDS", "READ/s", "WRITE/s"));
        Map<String, Previous> seen = new HashMap<>();
        for (JobStatus job : jobs) {
            StatsSample sample;
            try {
                Iterator<StatsSample> one = client.stats(StatsRequest.newBuilder().setJobId(job.getId()).build());
                sample = one.next();
            } catch (StatusRuntimeException e) {
                Status.Code code = e.getStatus().getCode();
                if (code == Status.Code.FAILED_PRECONDITION || code == Status.Code.NOT_FOUND) {
                    continue; // ended (or removed) since the listing
                }
                throw e;
            }
            Instant time = Instant.ofEpochSecond(sample.getTime().getSeconds(), sample.getTime().getNanos());
            long read = sample.getIoList().stream().mapToLong(DeviceIo::getReadBytes).sum();
            long written = sample.getIoList().stream().mapToLong(DeviceIo::getWriteBytes).sum();
            Previous before = previous.get(job.getId());
            Previous now = new Previous(time, sample.getCpuUsageMicros(), read, written);
            seen.put(job.getId(), now);
            String cpu = UNKNOWN;
            String readRate = UNKNOWN;
            String writeRate = UNKNOWN;
            if (before != null && time.isAfter(before.time())) {
                double seconds = Duration.between(before.time(), time).toNanos() / 1e9;
                cpu = String.format(Locale.ROOT, "%.1f",
                        PERCENT * (now.cpuMicros() - before.cpuMicros()) / MICROS_PER_SECOND / seconds);
                if (!sample.getIoList().isEmpty()) {
                    readRate = bytes((now.readBytes() - before.readBytes()) / seconds);
                    writeRate = bytes((now.writeBytes() - before.writeBytes()) / seconds);
                }
            }
            lines.add(row(clustered, job.getId(), job.getHost(), JobStatusJson.state(sample.getState()), cpu,
                    sample.hasMemoryCurrentBytes() ? bytes(sample.getMemoryCurrentBytes().getValue()) : UNKNOWN,
                    sample.hasPidsCurrent() ? Long.toString(sample.getPidsCurrent().getValue()) : UNKNOWN,
                    readRate, writeRate));
        }
        previous.clear();
        previous.putAll(seen);
        return lines;
    }

    private static List<JobStatus> runningJobs(RundClient client) {
        List<JobStatus> jobs = new ArrayList<>();
        ListRequest.Builder request = ListRequest.newBuilder().addStates(JobState.JOB_STATE_RUNNING);
        String token = "";
        do {
            ListResponse page = client.list(request.setPageToken(token).build());
            jobs.addAll(page.getJobsList());
            token = page.getNextPageToken();
        } while (!token.isEmpty());
        return jobs;
    }

    private static String row(boolean clustered, String id, String host, String state, String cpu, String memory,
                              String pids, String read, String write) {
        return clustered
                ? String.format(Locale.ROOT, "%-26s  %-12s  %-8s  %6s  %7s  %5s  %8s  %8s", id, host, state, cpu, memory, pids, read, write)
                : String.format(Locale.ROOT, "%-26s  %-8s  %6s  %7s  %5s  %8s  %8s", id, state, cpu, memory, pids, read, write);
    }

    /** 1536 → "1.5K": the figure in the largest binary unit below it. */
    static String bytes(double count) {
        int unit = 0;
        double value = count;
        while (value >= KIBI && unit < UNITS.length - 1) {
            value /= KIBI;
            unit++;
        }
        return unit == 0 ? String.format(Locale.ROOT, "%.0f%s", value, UNITS[unit])
                : String.format(Locale.ROOT, "%.1f%s", value, UNITS[unit]);
    }

    private static void sleep(Duration duration) throws CliException {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(ExitCodes.OK, "interrupted");
        }
    }
}
