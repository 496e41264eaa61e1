package io.rund.cli;

import io.rund.proto.v1.SignalRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code rund kill [-s SIGNAL] [--all] ID}: sends a signal to the job and prints its status as JSON. */
@Command(name = "kill", mixinStandardHelpOptions = true,
        description = "Send a signal to a job's main process (to every process of the job with --all). "
                + "A frozen job receives it once resumed. Prints the job's status as one JSON object.")
final class KillCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Option(names = {"-s", "--signal"}, paramLabel = "SIGNAL", defaultValue = "TERM",
            description = "A name (HUP, SIGUSR1, RTMIN+1) or a number (default: ${DEFAULT-VALUE}).")
    String signal;

    @Option(names = "--all", description = "Every process of the job, not only its main process.")
    boolean all;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        SignalRequest request = SignalRequest.newBuilder().setJobId(jobId).setSignal(signal).setAll(all).build();
        cli.println(JobStatusJson.of(connection.call(client -> client.signal(request)).getStatus()));
        return ExitCodes.OK;
    }
}
