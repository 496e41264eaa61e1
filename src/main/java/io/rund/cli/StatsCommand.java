package io.rund.cli;

import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.StatsRequest;
import io.rund.proto.v1.StatsSample;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.Iterator;
import java.util.concurrent.Callable;

/**
 * {@code rund stats [--interval 1s] ID}: the job's live usage as one JSON object, or one per line at the interval
 * until the job ends (the server's stream ends then, and so does the command, with exit 0).
 */
@Command(name = "stats", mixinStandardHelpOptions = true,
        description = "Print a running job's live usage (cpu, memory, io, pids, pressure) as one JSON object; with "
                + "--interval, one per line until the job ends.")
final class StatsCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Option(names = "--interval", paramLabel = "DURATION",
            description = "Print a sample every DURATION (e.g. 500ms, 1s; at least the server's rund.stats.min-interval) until the job ends.")
    String interval;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        StatsRequest.Builder request = StatsRequest.newBuilder().setJobId(jobId);
        if (interval != null) {
            request.setInterval(Intervals.toProto(Intervals.parse("--interval", interval)));
        }
        try (RundClient client = connection.connect()) {
            try {
                Iterator<StatsSample> samples = client.stats(request.build());
                while (samples.hasNext()) {
                    cli.println(StatsJson.of(samples.next()));
                }
            } catch (StatusRuntimeException e) {
                throw ConnectionOptions.failure(client, e);
            }
        }
        return ExitCodes.OK;
    }
}
