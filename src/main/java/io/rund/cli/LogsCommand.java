package io.rund.cli;

import io.rund.proto.v1.LogsRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code rund logs [-f] ID}: the job's stdout to stdout and its stderr to stderr. */
@Command(name = "logs", mixinStandardHelpOptions = true,
        description = "Write a job's output: its stdout to stdout, its stderr to stderr, unchanged.")
final class LogsCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Option(names = {"-f", "--follow"}, description = "Keep writing new output until the job's output ends.")
    boolean follow;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        try (RundClient client = connection.connect()) {
            LogCopier.copy(client, LogsRequest.newBuilder().setJobId(jobId).setFollow(follow).build(), cli.out(), cli.err());
            return ExitCodes.OK;
        }
    }
}
