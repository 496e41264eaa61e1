package io.rund.cli;

import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.StatusRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/**
 * {@code rund start [LIMITS] -- CMD [ARGS...]}: starts a job and prints its id alone on one line (also with -o name);
 * -o json prints the new job's status object and -o wide its list row, each from a Status call after the start on the same connection.
 */
@Command(name = "start", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Start a job and print its id (a ULID). The job runs on after this command returns.")
final class StartCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Mixin
    LimitOptions limits;

    @Mixin
    JobOptions job;

    @Mixin
    OutputOptions output;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        OutputOptions.Format format = output.chosen().orElse(OutputOptions.Format.NAME);
        var request = job.toProto().setLimits(limits.toProto()).build();
        if (format == OutputOptions.Format.NAME) {
            cli.println(connection.call(client -> client.start(request)).getJobId());
            return ExitCodes.OK;
        }
        JobStatus started = connection.call(client -> {
            String id = client.start(request).getJobId();
            return client.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus();
        });
        if (format == OutputOptions.Format.JSON) {
            cli.println(JobStatusJson.of(started));
        } else {
            cli.println(JobStatusText.header(true));
            cli.println(JobStatusText.row(started, true));
        }
        return ExitCodes.OK;
    }
}
