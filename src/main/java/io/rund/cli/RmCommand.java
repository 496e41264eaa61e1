package io.rund.cli;

import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.DeleteRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code rund rm ID...}: deletes finished jobs and their logs at once (the server's Delete). Silent on success, as
 * rm(1); each job that cannot be deleted (still running, not found) is one line on stderr, the others are still
 * deleted, and the exit code is that of the first failure.
 */
@Command(name = "rm", mixinStandardHelpOptions = true,
        description = "Delete finished jobs and their logs at once. A job that has not ended is refused (stop it first). "
                + "Prints nothing on success.")
final class RmCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Parameters(paramLabel = "ID", arity = "1..*", description = "The jobs' ids, as printed by start.")
    List<String> jobIds;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        int exitCode = ExitCodes.OK;
        try (RundClient client = connection.connect()) {
            for (String jobId : jobIds) {
                try {
                    client.delete(DeleteRequest.newBuilder().setJobId(jobId).build());
                } catch (StatusRuntimeException e) {
                    CliException failure = ConnectionOptions.failure(client, e);
                    if (jobIds.size() == 1) {
                        throw failure;
                    }
                    cli.error(failure.getMessage());
                    exitCode = exitCode == ExitCodes.OK ? failure.exitCode() : exitCode;
                }
            }
        }
        return exitCode;
    }
}
