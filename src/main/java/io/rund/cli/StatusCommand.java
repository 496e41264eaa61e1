package io.rund.cli;

import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.StatusRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code rund status ID}: the job's status. On a terminal, a few aligned "Field: value" lines for people; into a pipe
 * or file, the one JSON object DESIGN.md promises scripts; -o json|wide|name chooses either way.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Print a job's status: aligned 'Field: value' lines on a terminal, one JSON object otherwise "
                + "(or as -o says: json, wide for more fields, name for the id).")
final class StatusCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    OutputOptions output;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        Optional<OutputOptions.Format> chosen = output.chosen();
        OutputOptions.Format format = chosen.orElse(cli.stdoutIsTerminal() ? OutputOptions.Format.WIDE : OutputOptions.Format.JSON);
        // A terminal's default is the short view; -o wide asks for every field.
        boolean everyField = chosen.isPresent();
        StatusRequest request = StatusRequest.newBuilder().setJobId(jobId).build();
        JobStatus status = connection.call(client -> client.status(request)).getStatus();
        switch (format) {
            case JSON -> cli.println(JobStatusJson.of(status));
            case NAME -> cli.println(status.getId());
            case WIDE -> JobStatusText.fields(status, everyField).forEach(cli::println);
        }
        return ExitCodes.OK;
    }
}
