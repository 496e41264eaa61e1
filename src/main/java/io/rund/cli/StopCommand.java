package io.rund.cli;

import io.rund.proto.v1.StopRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code rund stop ID}: stops the job (SIGTERM, grace period, then SIGKILL) and prints its final status as JSON. */
@Command(name = "stop", mixinStandardHelpOptions = true,
        description = "Stop a job: SIGTERM to all its processes, then SIGKILL after the grace period (the server's, or "
                + "--grace), or SIGKILL at once with --force. A frozen job is thawed so that the signal lands. "
                + "Prints the job's status, once it has ended, as one JSON object.")
final class StopCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Option(names = "--grace", paramLabel = "DURATION",
            description = "Grace period between SIGTERM and SIGKILL for this stop, like 2s, 500ms or 1m30s.")
    String grace;

    @Option(names = "--force", description = "SIGKILL every process at once: no SIGTERM, no grace period.")
    boolean force;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        if (force && grace != null) {
            throw new CliException(ExitCodes.USAGE, "--grace and --force exclude each other: --force kills at once");
        }
        StopRequest.Builder request = StopRequest.newBuilder().setJobId(jobId).setForce(force);
        java.time.Duration extraWait = java.time.Duration.ZERO;
        if (grace != null) {
            extraWait = DurationText.parse("--grace", grace);
            request.setGracePeriod(DurationText.toProto(extraWait));
        }
        StopRequest built = request.build();
        java.time.Duration waitAlso = extraWait;
        cli.println(JobStatusJson.of(connection.call(client -> client.stop(built, waitAlso)).getStatus()));
        return ExitCodes.OK;
    }
}
