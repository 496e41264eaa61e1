package io.rund.api;

import com.google.protobuf.ByteString;
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
import io.rund.logs.LogRecord;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogTrailer;
import io.rund.proto.v1.StartRequest;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

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
                fromProto(request.getLimits()));
    }

    static Limits fromProto(io.rund.proto.v1.Limits limits) {
        List<IoLimit> io = limits.getIoList().stream().map(ProtoMapping::fromProto).toList();
        return new Limits(
                optional(limits.hasCpuMaxQuotaMicros(), limits.getCpuMaxQuotaMicros()),
                optional(limits.hasCpuMaxPeriodMicros(), limits.getCpuMaxPeriodMicros()),
                optional(limits.hasMemoryMaxBytes(), limits.getMemoryMaxBytes()),
                optional(limits.hasMemorySwapMaxBytes(), limits.getMemorySwapMaxBytes()),
                optional(limits.hasPidsMax(), limits.getPidsMax()),
                io);
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
        return proto.build();
    }

    static io.rund.proto.v1.JobState toProto(JobState state) {
        return switch (state) {
            case STARTING -> io.rund.proto.v1.JobState.JOB_STATE_STARTING;
            case RUNNING -> io.rund.proto.v1.JobState.JOB_STATE_RUNNING;
            case STOPPING -> io.rund.proto.v1.JobState.JOB_STATE_STOPPING;
            case EXITED -> io.rund.proto.v1.JobState.JOB_STATE_EXITED;
            case FAILED_TO_START -> io.rund.proto.v1.JobState.JOB_STATE_FAILED_TO_START;
        };
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

    static LogChunk toProto(LogRecord record) {
        return LogChunk.newBuilder().setData(LogData.newBuilder()
                        .setStream(switch (record.stream()) {
                            case STDOUT -> LogStream.LOG_STREAM_STDOUT;
                            case STDERR -> LogStream.LOG_STREAM_STDERR;
                        })
                        .setOffset(record.offset())
                        .setTimestamp(toProto(record.timestamp()))
                        .setData(ByteString.copyFrom(record.bytes())))
                .build();
    }

    static LogChunk trailer(JobStatus status) {
        return LogChunk.newBuilder().setTrailer(LogTrailer.newBuilder().setStatus(toProto(status))).build();
    }

    private static Timestamp toProto(Instant instant) {
        return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).setNanos(instant.getNano()).build();
    }

    private static OptionalLong optional(boolean present, Int64Value value) {
        return present ? OptionalLong.of(value.getValue()) : OptionalLong.empty();
    }
}
