package io.rund.cli;

import io.rund.proto.v1.StatusRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code rund status ID}: prints the job's status as one JSON object. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Print a job's status as one JSON object.")
final class StatusCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        StatusRequest request = StatusRequest.newBuilder().setJobId(jobId).build();
        cli.println(JobStatusJson.of(connection.call(client -> client.status(request)).getStatus()));
        return ExitCodes.OK;
    }
}
