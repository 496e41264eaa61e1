package io.rund.cli;

import com.google.protobuf.Timestamp;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogsRequest;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code rund logs [-f] [--tail N] [--since WHEN] [--timestamps] [--stdout|--stderr] ID}: the job's stdout to stdout
 * and its stderr to stderr. Following, it survives dropped connections (it resumes at the exact byte it had
 * reached) and exits with the job's exit code once the job has ended, as {@code rund run} does.
 */
@Command(name = "logs", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a job's output: its stdout to stdout, its stderr to stderr, unchanged.",
                "With -f, keep writing new output until the job ends, then exit with its exit code (128+signal if killed);"
                        + " a dropped connection is resumed where it broke, without a gap or a repeat."})
final class LogsCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Option(names = {"-f", "--follow"}, description = "Keep writing new output until the job ends; exit with its code.")
    boolean follow;

    @Option(names = "--tail", paramLabel = "N", description = "Start at the last N lines (of the chosen stream, if one).")
    Long tail;

    @Option(names = "--since", paramLabel = "WHEN",
            description = "Start at the output written since WHEN: an age (10m, 1h30m, 2d) or an RFC 3339 time.")
    String since;

    @Option(names = {"-t", "--timestamps"}, description = "Start every line with the RFC 3339 time rund read it.")
    boolean timestamps;

    @ArgGroup(exclusive = true)
    OneStream oneStream;

    static final class OneStream {
        @Option(names = "--stdout", required = true, description = "Only the job's stdout.")
        boolean stdout;

        @Option(names = "--stderr", required = true, description = "Only the job's stderr.")
        boolean stderr;
    }

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        LogsRequest request = request(Clock.systemUTC());
        try (RundClient client = connection.connect()) {
            LogOutput output = new LogOutput(cli.out(), cli.err(), timestamps);
            Optional<JobStatus> end = new LogCopier(client, output, cli::error, Clock.systemUTC()).copy(request);
            if (!follow) {
                return ExitCodes.OK;
            }
            if (end.isEmpty()) {
                throw new CliException(ExitCodes.UNAVAILABLE, "the output of job " + jobId + " ended without its final status");
            }
            return RunCommand.exitCode(end.get());
        }
    }

    LogsRequest request(Clock clock) throws CliException {
        LogsRequest.Builder request = LogsRequest.newBuilder().setJobId(jobId).setFollow(follow).setTimestamps(timestamps);
        if (tail != null && since != null) {
            throw new CliException(ExitCodes.USAGE, "--tail and --since each choose where to start: give one of them");
        }
        if (tail != null) {
            if (tail < 0) {
                throw new CliException(ExitCodes.USAGE, "--tail: must not be negative, was " + tail);
            }
            request.setTailLines(tail);
        }
        if (since != null) {
            Instant start = PointInTime.parse("--since", since, clock);
            request.setSince(Timestamp.newBuilder().setSeconds(start.getEpochSecond()).setNanos(start.getNano()));
        }
        if (oneStream != null) {
            request.setStream(oneStream.stdout ? LogStream.LOG_STREAM_STDOUT : LogStream.LOG_STREAM_STDERR);
        }
        return request.build();
    }
}
