package io.rund.cli;

import io.rund.proto.v1.ResumeRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code rund resume ID}: thaws a paused job (state running again) and prints its status as JSON. */
@Command(name = "resume", mixinStandardHelpOptions = true,
        description = "Thaw a job frozen by `rund pause`. Prints the job's status as one JSON object.")
final class ResumeCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        ResumeRequest request = ResumeRequest.newBuilder().setJobId(jobId).build();
        cli.println(JobStatusJson.of(connection.call(client -> client.resume(request)).getStatus()));
        return ExitCodes.OK;
    }
}
