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
 * {@code rund list}: the caller's jobs, one per line (a wider table with -o wide, ids only with -o name, a JSON
 * array with -o json or --json), optionally only those in some states. The server answers a page at a time; this follows the pages to the end, printing rows as they come.
 */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "List the jobs your certificate may see, oldest first: ID, STATE, EXIT (code or signal), COMMAND.")
final class ListCommand implements Callable<Integer> {

    private static final String STATE_PREFIX = "JOB_STATE_";

    @ParentCommand
    RundCli cli;

    @Mixin
    OutputOptions output;

    @Option(names = "--state", paramLabel = "STATE",
            description = "Only jobs in this state (starting, running, stopping, exited, failed_to_start; any case, - for _). "
                    + "Repeat it for several.")
    List<String> states = new ArrayList<>();

    @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE",
            description = "Only jobs with this label. Repeatable: all must hold.")
    List<String> labels = new ArrayList<>();

    @Option(names = "--selector", paramLabel = "EXPR",
            description = "Only jobs this Kubernetes label selector selects: k=v, k!=v, 'k in (a,b)', 'k notin (a)', k, !k; "
                    + "comma means and.")
    String selector;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        ListRequest.Builder request = ListRequest.newBuilder().setLabelSelector(LabelOptions.selector(labels, selector));
        for (String state : states) {
            request.addStates(state(state));
        }
        OutputOptions.Format format = output.chosen().orElse(null);
        boolean json = format == OutputOptions.Format.JSON;
        boolean wide = format == OutputOptions.Format.WIDE;
        List<JobStatus> all = new ArrayList<>();
        if (format == null || wide) {
            cli.println(JobStatusText.header(wide));
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
                for (String host : page.getUnreachableHostsList()) {
                    cli.err().println("rund: node " + host + " cannot be reached now: its jobs are not listed");
                }
                if (json) {
                    all.addAll(page.getJobsList());
                } else if (format == OutputOptions.Format.NAME) {
                    page.getJobsList().forEach(job -> cli.println(job.getId()));
                } else {
                    page.getJobsList().forEach(job -> cli.println(JobStatusText.row(job, wide)));
                }
                token = page.getNextPageToken();
            } while (!token.isEmpty());
        }
        if (json) {
            cli.println(JobStatusJson.of(all));
        }
        return ExitCodes.OK;
    }

    /** "running", "RUNNING", "failed_to_start", "failed-to-start", "FAILED_TO_START" ... as the API's state. */
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
}
