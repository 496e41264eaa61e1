package io.rund.cli;

import io.rund.proto.v1.PauseRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code rund pause ID}: freezes every process of the job (state frozen) and prints its status as JSON. */
@Command(name = "pause", mixinStandardHelpOptions = true,
        description = "Freeze every process of a running job (cgroup.freeze) until `rund resume`. "
                + "Its deadline runs on. Prints the job's status as one JSON object.")
final class PauseCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        PauseRequest request = PauseRequest.newBuilder().setJobId(jobId).build();
        cli.println(JobStatusJson.of(connection.call(client -> client.pause(request)).getStatus()));
        return ExitCodes.OK;
    }
}
