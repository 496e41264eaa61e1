package io.rund.cli;

import com.google.protobuf.Timestamp;
import com.google.protobuf.UInt64Value;
import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.JobEvent;
import io.rund.proto.v1.JobEventType;
import io.rund.proto.v1.WatchRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code rund watch [ID]}: job events as they happen, one JSON object per line (flushed at once, for pipes):
 * sequence, type, jobId, time, detail, host (in a cluster), and the job's status as {@code rund status} prints it.
 * Runs until interrupted or the server ends the stream (one job's ends after its removed event); to resume after a
 * break, pass the last sequence to --after.
 */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = "Print job events as they happen, one JSON object per line: one job's (ID), those of jobs with "
                + "some labels, or every job you may see. One job's watch ends after its removed event. --after SEQ resumes "
                + "right after an event already printed.")
final class WatchCommand implements Callable<Integer> {

    private static final String TYPE_PREFIX = "JOB_EVENT_TYPE_";

    @ParentCommand
    RundCli cli;

    @Parameters(arity = "0..1", paramLabel = "ID", description = "Only this job's events.")
    String jobId;

    @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE", description = "Only jobs with this label. Repeatable: all must hold.")
    List<String> labels = new ArrayList<>();

    @Option(names = "--selector", paramLabel = "EXPR", description = "Only jobs this Kubernetes label selector selects.")
    String selector;

    @Option(names = "--after", paramLabel = "SEQ",
            description = "Only events after this sequence (0: every event the server still keeps). Default: from now on.")
    Long after;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        WatchRequest.Builder request = WatchRequest.newBuilder().setLabelSelector(LabelOptions.selector(labels, selector));
        if (jobId != null) {
            request.setJobId(jobId);
        }
        if (after != null) {
            if (after < 0) {
                throw new CliException(ExitCodes.USAGE, "--after " + after + ": a sequence is 0 or more");
            }
            request.setAfterSequence(UInt64Value.of(after));
        }
        try (RundClient client = connection.connect()) {
            try {
                Iterator<JobEvent> events = client.watch(request.build());
                while (events.hasNext()) {
                    cli.println(json(events.next()));
                }
            } catch (StatusRuntimeException e) {
                throw ConnectionOptions.failure(client, e);
            }
        }
        return ExitCodes.OK;
    }

    static String json(JobEvent event) {
        JsonWriter json = new JsonWriter().beginObject()
                .name("sequence").value(event.getSequence())
                .name("type").value(type(event.getType()))
                .name("jobId").value(event.getJobId())
                .name("time").value(event.hasTime() ? time(event.getTime()) : null)
                .name("detail").value(event.getDetail().isEmpty() ? null : event.getDetail());
        if (!event.getHost().isEmpty()) {
            json.name("host").value(event.getHost());
        }
        json.name("status");
        return JobStatusJson.writeTo(json, event.getStatus()).endObject().toString();
    }

    /** "started", "oom_kill", ...; a type this CLI does not know yet as its number. */
    static String type(JobEventType type) {
        if (type == JobEventType.UNRECOGNIZED) {
            return "unknown";
        }
        String name = type.name();
        return (name.startsWith(TYPE_PREFIX) ? name.substring(TYPE_PREFIX.length()) : name).toLowerCase(Locale.ROOT);
    }

    private static String time(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).toString();
    }
}
