package io.rund.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code rund start [LIMITS] -- CMD [ARGS...]}: starts a job and prints its id alone on one line. */
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
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        var request = job.toProto().setLimits(limits.toProto()).build();
        cli.println(connection.call(client -> client.start(request)).getJobId());
        return ExitCodes.OK;
    }
}
