package io.rund.cli;

import com.google.protobuf.Int32Value;
import com.google.protobuf.Int64Value;
import com.google.protobuf.Timestamp;
import io.rund.linux.Signals;
import io.rund.proto.v1.Accounting;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * A job status as the JSON object the CLI prints: every key always present (null when unknown), times in
 * ISO-8601 UTC, state as the proto's name without its JOB_STATE_ prefix in lower case ("running", "failed_to_start":
 * the one spelling the CLI prints everywhere), a signal as its number and its name ("signalName": "SIGTERM").
 * Stable for scripts.
 */
public final class JobStatusJson {

    private static final String STATE_PREFIX = "JOB_STATE_";

    private JobStatusJson() {}

    public static String of(JobStatus status) {
        return write(new JsonWriter(), status).toString();
    }

    public static String of(List<JobStatus> statuses) {
        JsonWriter json = new JsonWriter().beginArray();
        statuses.forEach(status -> write(json, status));
        return json.endArray().toString();
    }

    /** "running", "failed_to_start", ...: the proto's name, without the prefix, in lower case. */
    public static String state(JobState state) {
        String name = state.name();
        if (name.startsWith(STATE_PREFIX)) {
            name = name.substring(STATE_PREFIX.length());
        }
        return name.toLowerCase(Locale.ROOT);
    }

    private static JsonWriter write(JsonWriter json, JobStatus s) {
        json.beginObject()
                .name("id").value(s.getId())
                .name("state").value(state(s.getState()));
        if (!s.getHost().isEmpty()) { // in a cluster: the node that runs the job
            json.name("host").value(s.getHost());
        }
        json
                .name("command").value(s.getCommand())
                .name("args").strings(s.getArgsList())
                .name("pid").value(s.hasPid() ? number(s.getPid()) : null)
                .name("uid").value(s.hasUid() ? number(s.getUid()) : null)
                .name("exitCode").value(s.hasExitCode() ? number(s.getExitCode()) : null)
                .name("signal").value(s.hasSignal() ? number(s.getSignal()) : null)
                .name("signalName").value(s.hasSignal() ? Signals.name(s.getSignal().getValue()) : null)
                .name("coreDumped").value(s.getCoreDumped())
                .name("oomKilled").value(s.getOomKilled())
                .name("stoppedByRequest").value(s.getStoppedByRequest())
                .name("createdAt").value(s.hasCreatedAt() ? time(s.getCreatedAt()) : null)
                .name("startedAt").value(s.hasStartedAt() ? time(s.getStartedAt()) : null)
                .name("endedAt").value(s.hasEndedAt() ? time(s.getEndedAt()) : null)
                .name("usage");
        if (s.hasUsage()) {
            usage(json, s.getUsage());
        } else {
            json.nullValue();
        }
        json.name("failure").value(s.getFailure().isEmpty() ? null : s.getFailure())
                .name("outputHeld").value(s.getOutputHeld().isEmpty() ? null : s.getOutputHeld())
                .name("frozenForMillis").value(s.hasFrozenFor()
                        ? s.getFrozenFor().getSeconds() * 1000 + s.getFrozenFor().getNanos() / 1_000_000 : 0L)
                .name("deadline").value(s.hasDeadline() ? time(s.getDeadline()) : null)
                .name("endedByDeadline").value(s.getEndedByDeadline())
                .name("labels").labels(s.getLabelsMap())
                .name("gid").value(s.hasGid() ? number(s.getGid()) : null)
                .name("groups").beginArray();
        s.getGroupsList().forEach(json::value);
        return json.endArray().endObject();
    }

    private static void usage(JsonWriter json, Accounting a) {
        json.beginObject()
                .name("cpuUsageMicros").value(a.getCpuUsageMicros())
                .name("cpuUserMicros").value(a.getCpuUserMicros())
                .name("cpuSystemMicros").value(a.getCpuSystemMicros())
                .name("memoryPeakBytes").value(a.hasMemoryPeakBytes() ? number(a.getMemoryPeakBytes()) : null)
                .name("memoryCurrentBytes").value(a.hasMemoryCurrentBytes() ? number(a.getMemoryCurrentBytes()) : null)
                .name("ioReadBytes").value(a.hasIoReadBytes() ? number(a.getIoReadBytes()) : null)
                .name("ioWriteBytes").value(a.hasIoWriteBytes() ? number(a.getIoWriteBytes()) : null)
                .name("pidsCurrent").value(a.hasPidsCurrent() ? number(a.getPidsCurrent()) : null)
                .endObject();
    }

    private static Long number(Int64Value value) {
        return value.getValue();
    }

    private static Integer number(Int32Value value) {
        return value.getValue();
    }

    private static String time(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).toString();
    }

    /** {@code status} as a value inside a bigger object (a Watch event's). */
    static JsonWriter writeTo(JsonWriter json, JobStatus status) {
        return write(json, status);
    }
}
