package io.rund.cli;

import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code rund list}: the caller's jobs, one per line (or a JSON array with --json). */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "List the jobs your certificate may see, oldest first: ID, STATE, EXIT, COMMAND.")
final class ListCommand implements Callable<Integer> {

    private static final String ROW = "%-26s  %-15s  %-4s  %s";

    @ParentCommand
    RundCli cli;

    @Option(names = "--json", description = "Print a JSON array of job statuses (the objects status prints).")
    boolean json;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        List<JobStatus> jobs = connection.call(client -> client.list(ListRequest.getDefaultInstance())).getJobsList();
        if (json) {
            cli.println(JobStatusJson.of(jobs));
        } else {
            cli.println(ROW.formatted("ID", "STATE", "EXIT", "COMMAND"));
            jobs.forEach(job -> cli.println(ROW.formatted(job.getId(), JobStatusJson.state(job.getState()), exit(job),
                    String.join(" ", job.getCommand(), String.join(" ", job.getArgsList())).strip())));
        }
        return ExitCodes.OK;
    }

    private static String exit(JobStatus job) {
        if (job.hasExitCode()) {
            return Integer.toString(job.getExitCode().getValue());
        }
        return job.hasSignal() ? Integer.toString(ExitCodes.SIGNAL_BASE + job.getSignal().getValue()) : "-";
    }
}
