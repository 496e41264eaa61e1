package io.rund.cli;

import io.rund.proto.v1.StopRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code rund stop ID}: stops the job (SIGTERM, grace period, then SIGKILL) and prints its final status as JSON. */
@Command(name = "stop", mixinStandardHelpOptions = true,
        description = "Stop a job: SIGTERM to all its processes, then SIGKILL after the server's grace period. "
                + "Prints the job's status, once it has ended, as one JSON object.")
final class StopCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        StopRequest request = StopRequest.newBuilder().setJobId(jobId).build();
        cli.println(JobStatusJson.of(connection.call(client -> client.stop(request)).getStatus()));
        return ExitCodes.OK;
    }
}
