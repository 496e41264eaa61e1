package io.rund.api;

import com.google.protobuf.Int32Value;
import com.google.protobuf.Int64Value;
import com.google.protobuf.Timestamp;
import io.rund.cgroup.Accounting;
import io.rund.cgroup.IoLimit;
import io.rund.cgroup.Limits;
import io.rund.job.JobError;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.JobStatus;
import com.google.protobuf.UnsafeByteOperations;
import io.rund.logs.LogQuery;
import io.rund.logs.LogRecord;
import io.rund.logs.LogStart;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogTrailer;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;

import java.nio.file.InvalidPathException;
import java.time.DateTimeException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Converts between the wire (rund.v1 proto messages) and rund's own records. Nothing here decides: an absent
 * wrapper becomes an empty optional, an empty string an absent directory or user; judging values is
 * {@link JobSpec#validate()}'s and the job layer's work. Only a request that cannot be represented at all (a
 * working directory that is no path) is refused here.
 */
final class ProtoMapping {

    private ProtoMapping() {}

    /** The job a Start request asks for, or the field that cannot even be represented. */
    static JobSpec fromProto(StartRequest request) throws InvalidRequestException {
        Optional<Path> workingDirectory = Optional.empty();
        if (!request.getWorkingDirectory().isEmpty()) {
            try {
                workingDirectory = Optional.of(Path.of(request.getWorkingDirectory()));
            } catch (InvalidPathException e) {
                throw new InvalidRequestException(JobError.invalid("working_directory", "not a path: " + e.getReason()));
            }
        }
        Optional<String> user = request.getUser().isEmpty() ? Optional.empty() : Optional.of(request.getUser());
        return new JobSpec(request.getCommand(), request.getArgsList(), request.getEnvMap(), workingDirectory, user,
                fromProto(request.getLimits()), request.getLabelsMap());
    }

    static Limits fromProto(io.rund.proto.v1.Limits limits) {
        List<IoLimit> io = limits.getIoList().stream().map(ProtoMapping::fromProto).toList();
        return new Limits(
                optional(limits.hasCpuMaxQuotaMicros(), limits.getCpuMaxQuotaMicros()),
                optional(limits.hasCpuMaxPeriodMicros(), limits.getCpuMaxPeriodMicros()),
                optional(limits.hasMemoryMaxBytes(), limits.getMemoryMaxBytes()),
                optional(limits.hasMemoryHighBytes(), limits.getMemoryHighBytes()),
                optional(limits.hasMemorySwapMaxBytes(), limits.getMemorySwapMaxBytes()),
                optional(limits.hasPidsMax(), limits.getPidsMax()),
                io, fromProto(limits.hasL3CacheMask(), limits.getL3CacheMask()),
                fromProto(limits.hasMemoryBandwidthPercent(), limits.getMemoryBandwidthPercent()));
    }

    /** An RDT setting; a message holding no value at all is the same as none. */
    private static Optional<io.rund.resctrl.DomainValues> fromProto(boolean present, io.rund.proto.v1.RdtValues values) {
        if (!present || !values.hasEveryDomain() && values.getByDomainCount() == 0) {
            return Optional.empty();
        }
        java.util.Map<Integer, Long> byDomain = new java.util.TreeMap<>();
        values.getByDomainMap().forEach((id, value) -> byDomain.put(id, value));
        return Optional.of(new io.rund.resctrl.DomainValues(values.hasEveryDomain()
                ? OptionalLong.of(values.getEveryDomain().getValue()) : OptionalLong.empty(), new java.util.TreeMap<>(byDomain)));
    }

    private static io.rund.proto.v1.RdtValues toProto(io.rund.resctrl.DomainValues values) {
        io.rund.proto.v1.RdtValues.Builder proto = io.rund.proto.v1.RdtValues.newBuilder();
        values.everyDomain().ifPresent(v -> proto.setEveryDomain(com.google.protobuf.UInt64Value.of(v)));
        values.byDomain().forEach((id, value) -> proto.putByDomain(id, value));
        return proto.build();
    }

    private static IoLimit fromProto(io.rund.proto.v1.IoLimit io) {
        return new IoLimit(
                io.hasDevice() ? Optional.of(io.getDevice().getValue()) : Optional.empty(),
                optional(io.hasRbps(), io.getRbps()),
                optional(io.hasWbps(), io.getWbps()),
                optional(io.hasRiops(), io.getRiops()),
                optional(io.hasWiops(), io.getWiops()));
    }

    static io.rund.proto.v1.JobStatus toProto(JobStatus status) {
        io.rund.proto.v1.JobStatus.Builder proto = io.rund.proto.v1.JobStatus.newBuilder()
                .setId(status.id())
                .setCommand(status.command())
                .addAllArgs(status.args())
                .setState(toProto(status.state()))
                .setCoreDumped(status.coreDumped())
                .setOomKilled(status.oomKilled())
                .setStoppedByRequest(status.stoppedByRequest());
        if (status.pid() != null) {
            proto.setPid(Int32Value.of(status.pid()));
        }
        if (status.uid() != null) {
            proto.setUid(Int32Value.of(status.uid()));
        }
        if (status.exitCode() != null) {
            proto.setExitCode(Int32Value.of(status.exitCode()));
        }
        if (status.signal() != null) {
            proto.setSignal(Int32Value.of(status.signal()));
        }
        if (status.createdAt() != null) {
            proto.setCreatedAt(toProto(status.createdAt()));
        }
        if (status.startedAt() != null) {
            proto.setStartedAt(toProto(status.startedAt()));
        }
        if (status.endedAt() != null) {
            proto.setEndedAt(toProto(status.endedAt()));
        }
        if (status.usage() != null) {
            proto.setUsage(toProto(status.usage()));
        }
        if (status.failure() != null) {
            proto.setFailure(status.failure());
        }
        if (status.outputHeld() != null) {
            proto.setOutputHeld(status.outputHeld());
        }
        proto.putAllLabels(status.labels());
        if (status.groups() != null) {
            proto.setGid(Int32Value.of(status.groups().gid())).addAllGroups(status.groups().supplementary());
        }
        return withControl(proto.build(), status, Instant.now());
    }

    static io.rund.proto.v1.JobState toProto(JobState state) {
        return switch (state) {
            case STARTING -> io.rund.proto.v1.JobState.JOB_STATE_STARTING;
            case RUNNING -> io.rund.proto.v1.JobState.JOB_STATE_RUNNING;
            case STOPPING -> io.rund.proto.v1.JobState.JOB_STATE_STOPPING;
            case EXITED -> io.rund.proto.v1.JobState.JOB_STATE_EXITED;
            case FAILED_TO_START -> io.rund.proto.v1.JobState.JOB_STATE_FAILED_TO_START;
            case FROZEN -> io.rund.proto.v1.JobState.JOB_STATE_FROZEN;
        };
    }

    /** The states a List request filters on (empty: any), or the entry that names no state. */
    static Set<JobState> fromProto(List<io.rund.proto.v1.JobState> states) throws InvalidRequestException {
        Set<JobState> wanted = EnumSet.noneOf(JobState.class);
        for (int i = 0; i < states.size(); i++) {
            wanted.add(switch (states.get(i)) {
                case JOB_STATE_STARTING -> JobState.STARTING;
                case JOB_STATE_RUNNING -> JobState.RUNNING;
                case JOB_STATE_STOPPING -> JobState.STOPPING;
                case JOB_STATE_EXITED -> JobState.EXITED;
                case JOB_STATE_FAILED_TO_START -> JobState.FAILED_TO_START;
                case JOB_STATE_FROZEN -> JobState.FROZEN;
                case JOB_STATE_UNSPECIFIED, UNRECOGNIZED -> throw new InvalidRequestException(JobError.invalid(
                        "states[" + i + "]", "not a job state: use STARTING, RUNNING, STOPPING, EXITED or FAILED_TO_START"));
            });
        }
        return wanted;
    }

    static io.rund.proto.v1.Accounting toProto(Accounting usage) {
        io.rund.proto.v1.Accounting.Builder proto = io.rund.proto.v1.Accounting.newBuilder()
                .setCpuUsageMicros(usage.cpuUsageMicros())
                .setCpuUserMicros(usage.cpuUserMicros())
                .setCpuSystemMicros(usage.cpuSystemMicros());
        usage.memoryPeakBytes().ifPresent(v -> proto.setMemoryPeakBytes(Int64Value.of(v)));
        usage.memoryCurrentBytes().ifPresent(v -> proto.setMemoryCurrentBytes(Int64Value.of(v)));
        usage.ioReadBytes().ifPresent(v -> proto.setIoReadBytes(Int64Value.of(v)));
        usage.ioWriteBytes().ifPresent(v -> proto.setIoWriteBytes(Int64Value.of(v)));
        usage.pidsCurrent().ifPresent(v -> proto.setPidsCurrent(Int64Value.of(v)));
        return proto.build();
    }

    /** What a Logs request asks for, or the field that makes no sense. */
    static LogQuery fromProto(LogsRequest request) throws InvalidRequestException {
        LogStart start = switch (request.getStartCase()) {
            case FROM_OFFSET -> {
                if (request.getFromOffset() < 0) {
                    throw new InvalidRequestException(JobError.invalid("from_offset",
                            "must not be negative: " + request.getFromOffset()));
                }
                yield new LogStart.AtOffset(request.getFromOffset());
            }
            case TAIL_LINES -> {
                if (request.getTailLines() < 0) {
                    throw new InvalidRequestException(JobError.invalid("tail_lines",
                            "must not be negative: " + request.getTailLines()));
                }
                yield new LogStart.LastLines(request.getTailLines());
            }
            case SINCE -> {
                try {
                    yield new LogStart.Since(Instant.ofEpochSecond(request.getSince().getSeconds(), request.getSince().getNanos()));
                } catch (DateTimeException | ArithmeticException e) {
                    throw new InvalidRequestException(JobError.invalid("since", "not a representable time: " + e.getMessage()));
                }
            }
            case START_NOT_SET -> new LogStart.Oldest();
        };
        Set<io.rund.logs.LogStream> streams = switch (request.getStream()) {
            case LOG_STREAM_UNSPECIFIED -> LogQuery.BOTH_STREAMS;
            case LOG_STREAM_STDOUT -> Set.of(io.rund.logs.LogStream.STDOUT);
            case LOG_STREAM_STDERR -> Set.of(io.rund.logs.LogStream.STDERR);
            case UNRECOGNIZED -> throw new InvalidRequestException(JobError.invalid("stream",
                    "unknown stream " + request.getStreamValue()));
        };
        return new LogQuery(start, request.getFollow(), streams);
    }

    /**
     * One record as a chunk, its timestamp only if asked for. The chunk shares the record's bytes (records are
     * immutable): with N followers the payload is copied once per follower, when the chunk is serialized.
     */
    static LogChunk toProto(LogRecord record, boolean withTimestamp) {
        return LogChunk.newBuilder()
                .setData(dataFields(record, withTimestamp).setData(UnsafeByteOperations.unsafeWrap(record.bytes())))
                .build();
    }

    /** A record's chunk data without its output: stream, offset, and its timestamp only if asked for. */
    static LogData.Builder dataFields(LogRecord record, boolean withTimestamp) {
        LogData.Builder data = LogData.newBuilder()
                .setStream(switch (record.stream()) {
                    case STDOUT -> LogStream.LOG_STREAM_STDOUT;
                    case STDERR -> LogStream.LOG_STREAM_STDERR;
                })
                .setOffset(record.offset());
        if (withTimestamp) {
            data.setTimestamp(toProto(record.timestamp()));
        }
        return data;
    }

    static LogChunk trailer(JobStatus status) {
        return trailer(status, "");
    }

    /** The trailer of a Logs stream, its status naming the job's {@code host} (empty standalone). */
    static LogChunk trailer(JobStatus status, String host) {
        return LogChunk.newBuilder().setTrailer(LogTrailer.newBuilder().setStatus(toProto(status).toBuilder().setHost(host))).build();
    }

    private static Timestamp toProto(Instant instant) {
        return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).setNanos(instant.getNano()).build();
    }

    private static OptionalLong optional(boolean present, Int64Value value) {
        return present ? OptionalLong.of(value.getValue()) : OptionalLong.empty();
    }

    /** Limits as they are in force (read back from a cgroup): each present value set, io devices as MAJ:MIN. */
    static io.rund.proto.v1.Limits toProto(Limits limits) {
        io.rund.proto.v1.Limits.Builder proto = io.rund.proto.v1.Limits.newBuilder();
        limits.cpuMaxQuotaMicros().ifPresent(v -> proto.setCpuMaxQuotaMicros(Int64Value.of(v)));
        limits.cpuMaxPeriodMicros().ifPresent(v -> proto.setCpuMaxPeriodMicros(Int64Value.of(v)));
        limits.memoryMaxBytes().ifPresent(v -> proto.setMemoryMaxBytes(Int64Value.of(v)));
        limits.memoryHighBytes().ifPresent(v -> proto.setMemoryHighBytes(Int64Value.of(v)));
        limits.memorySwapMaxBytes().ifPresent(v -> proto.setMemorySwapMaxBytes(Int64Value.of(v)));
        limits.pidsMax().ifPresent(v -> proto.setPidsMax(Int64Value.of(v)));
        for (IoLimit limit : limits.io()) {
            io.rund.proto.v1.IoLimit.Builder device = io.rund.proto.v1.IoLimit.newBuilder();
            limit.device().ifPresent(d -> device.setDevice(com.google.protobuf.StringValue.of(d)));
            limit.rbps().ifPresent(v -> device.setRbps(Int64Value.of(v)));
            limit.wbps().ifPresent(v -> device.setWbps(Int64Value.of(v)));
            limit.riops().ifPresent(v -> device.setRiops(Int64Value.of(v)));
            limit.wiops().ifPresent(v -> device.setWiops(Int64Value.of(v)));
            proto.addIo(device);
        }
        limits.l3CacheMask().ifPresent(v -> proto.setL3CacheMask(toProto(v)));
        limits.memoryBandwidthPercent().ifPresent(v -> proto.setMemoryBandwidthPercent(toProto(v)));
        return proto.build();
    }

    /** A proto Duration as a Java one; INVALID_ARGUMENT naming {@code field} if its seconds and nanos disagree or are out of range. */
    static java.time.Duration fromProto(com.google.protobuf.Duration duration, String field) throws InvalidRequestException {
        long seconds = duration.getSeconds();
        int nanos = duration.getNanos();
        if (nanos <= -1_000_000_000 || nanos >= 1_000_000_000 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
            throw new InvalidRequestException(JobError.invalid(field, "is not a valid duration (seconds " + seconds
                    + ", nanos " + nanos + ")"));
        }
        return java.time.Duration.ofSeconds(seconds, nanos);
    }

    static com.google.protobuf.Duration toProto(java.time.Duration duration) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(duration.getSeconds()).setNanos(duration.getNano()).build();
    }

    /** Job control's part of a status: time frozen (as of now), the deadline, whether it ended the job. */
    static io.rund.proto.v1.JobStatus withControl(io.rund.proto.v1.JobStatus proto, JobStatus status, Instant now) {
        io.rund.job.JobControlState control = status.control();
        java.time.Duration frozenFor = control.frozenFor(now);
        if (frozenFor.isZero() && control.deadline() == null && !control.endedByDeadline()) {
            return proto;
        }
        io.rund.proto.v1.JobStatus.Builder builder = proto.toBuilder().setEndedByDeadline(control.endedByDeadline());
        if (!frozenFor.isZero()) {
            builder.setFrozenFor(toProto(frozenFor));
        }
        if (control.deadline() != null) {
            builder.setDeadline(toProto(control.deadline()));
        }
        return builder.build();
    }

    /** A job event as Watch sends it; {@code host} names its node in a cluster (empty standalone). */
    static io.rund.proto.v1.JobEvent toProto(io.rund.job.JobEvent event, String host) {
        io.rund.proto.v1.JobStatus status = toProto(event.status());
        return io.rund.proto.v1.JobEvent.newBuilder()
                .setSequence(event.sequence())
                .setType(toProto(event.type()))
                .setJobId(event.jobId())
                .setStatus(host.isEmpty() ? status : status.toBuilder().setHost(host).build())
                .setTime(toProto(event.time()))
                .setDetail(event.detail())
                .setHost(host)
                .build();
    }

    static io.rund.proto.v1.JobEventType toProto(io.rund.job.JobEventType type) {
        return switch (type) {
            case STARTED -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_STARTED;
            case STOPPING -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_STOPPING;
            case EXITED -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_EXITED;
            case FAILED_TO_START -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_FAILED_TO_START;
            case REMOVED -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_REMOVED;
            case OOM_KILL -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_OOM_KILL;
            case PIDS_MAX -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_PIDS_MAX;
            case FROZEN -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_FROZEN;
            case THAWED -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_THAWED;
            case DEADLINE -> io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_DEADLINE;
        };
    }

    /** The groups a Start asks for: an empty group is none asked for (the user's own), as an empty user is. */
    static io.rund.job.GroupRequest groupsOf(StartRequest request) {
        return new io.rund.job.GroupRequest(request.getGroup().isEmpty() ? Optional.empty() : Optional.of(request.getGroup()),
                request.getGroupsList());
    }
}
