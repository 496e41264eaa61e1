package io.rund.cli;

import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code rund list}: the caller's jobs, one per line (or a JSON array with --json), optionally only those in some
 * states. The server answers a page at a time; this follows the pages to the end, printing rows as they come.
 */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "List the jobs your certificate may see, oldest first: ID, STATE, EXIT, COMMAND.")
final class ListCommand implements Callable<Integer> {

    private static final String ROW = "%-26s  %-15s  %-4s  %s";
    private static final String STATE_PREFIX = "JOB_STATE_";

    @ParentCommand
    RundCli cli;

    @Option(names = "--json", description = "Print a JSON array of job statuses (the objects status prints).")
    boolean json;

    @Option(names = "--state", paramLabel = "STATE",
            description = "Only jobs in this state (starting, running, stopping, exited, failed-to-start; any case). "
                    + "Repeat it for several.")
    List<String> states = new ArrayList<>();

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        ListRequest.Builder request = ListRequest.newBuilder();
        for (String state : states) {
            request.addStates(state(state));
        }
        List<JobStatus> all = new ArrayList<>();
        if (!json) {
            cli.println(ROW.formatted("ID", "STATE", "EXIT", "COMMAND"));
        }
        try (RundClient client = connection.connect()) {
            String token = "";
            do {
                ListResponse page;
                try {
                    page = client.list(request.setPageToken(token).build());
                } catch (StatusRuntimeException e) {
                    throw ConnectionOptions.failure(client, e);
                }
                if (json) {
                    all.addAll(page.getJobsList());
                } else {
                    page.getJobsList().forEach(job -> cli.println(ROW.formatted(job.getId(), JobStatusJson.state(job.getState()),
                            exit(job), String.join(" ", job.getCommand(), String.join(" ", job.getArgsList())).strip())));
                }
                token = page.getNextPageToken();
            } while (!token.isEmpty());
        }
        if (json) {
            cli.println(JobStatusJson.of(all));
        }
        return ExitCodes.OK;
    }

    /** "running", "RUNNING", "failed-to-start", "FAILED_TO_START" ... as the API's state. */
    static JobState state(String word) throws CliException {
        String name = STATE_PREFIX + word.strip().toUpperCase(Locale.ROOT).replace('-', '_');
        JobState state;
        try {
            state = JobState.valueOf(name);
        } catch (IllegalArgumentException e) {
            state = JobState.UNRECOGNIZED;
        }
        if (!isState(state)) {
            throw new CliException(ExitCodes.USAGE, "--state: '" + word + "' is not a job state; use one of "
                    + Arrays.stream(JobState.values())
                            .filter(ListCommand::isState)
                            .map(JobStatusJson::state)
                            .collect(Collectors.joining(", ")));
        }
        return state;
    }

    private static boolean isState(JobState state) {
        return state != JobState.JOB_STATE_UNSPECIFIED && state != JobState.UNRECOGNIZED;
    }

    private static String exit(JobStatus job) {
        if (job.hasExitCode()) {
            return Integer.toString(job.getExitCode().getValue());
        }
        return job.hasSignal() ? Integer.toString(ExitCodes.SIGNAL_BASE + job.getSignal().getValue()) : "-";
    }
}
