package io.rund.api;

import com.google.protobuf.Int64Value;
import com.google.protobuf.Timestamp;
import io.rund.cgroup.UsageSample;
import io.rund.job.JobStatus;
import io.rund.proto.v1.DeviceIo;
import io.rund.proto.v1.MemoryEvents;
import io.rund.proto.v1.Pressure;
import io.rund.proto.v1.StatsSample;
import io.rund.proto.v1.Stall;

import java.util.Optional;
import java.util.OptionalLong;

/**
 * A {@link UsageSample} as the Stats RPC's {@link StatsSample}: figures the host lacks stay unset (wrappers and
 * sub-messages absent), never 0, so that a client can tell "not measured" from "none".
 */
final class StatsMapping {

    private StatsMapping() {}

    static StatsSample toProto(JobStatus status, UsageSample sample, String host) {
        StatsSample.Builder proto = StatsSample.newBuilder()
                .setJobId(status.id())
                .setTime(Timestamp.newBuilder().setSeconds(sample.time().getEpochSecond()).setNanos(sample.time().getNano()))
                .setState(ProtoMapping.toProto(status.state()))
                .setCpuUsageMicros(sample.cpu().usageMicros())
                .setCpuUserMicros(sample.cpu().userMicros())
                .setCpuSystemMicros(sample.cpu().systemMicros())
                .setHost(host);
        set(sample.cpu().periods(), proto::setCpuPeriods);
        set(sample.cpu().throttledPeriods(), proto::setCpuThrottledPeriods);
        set(sample.cpu().throttledMicros(), proto::setCpuThrottledMicros);
        sample.memory().ifPresent(memory -> {
            proto.setMemoryCurrentBytes(Int64Value.of(memory.currentBytes()));
            set(memory.peakBytes(), proto::setMemoryPeakBytes);
            proto.setMemoryEvents(MemoryEvents.newBuilder().setLow(memory.lowEvents()).setHigh(memory.highEvents())
                    .setMax(memory.maxEvents()).setOom(memory.oomEvents()).setOomKill(memory.oomKills()));
        });
        for (UsageSample.DeviceIo device : sample.io()) {
            proto.addIo(DeviceIo.newBuilder().setDevice(device.device()).setName(device.name().orElse(""))
                    .setReadBytes(device.readBytes()).setWriteBytes(device.writeBytes())
                    .setReadOps(device.readOps()).setWriteOps(device.writeOps()));
        }
        sample.pids().ifPresent(pids -> {
            proto.setPidsCurrent(Int64Value.of(pids.current()));
            set(pids.max(), proto::setPidsMax);
        });
        pressure(sample.cpuPressure()).ifPresent(proto::setCpuPressure);
        pressure(sample.memoryPressure()).ifPresent(proto::setMemoryPressure);
        pressure(sample.ioPressure()).ifPresent(proto::setIoPressure);
        return proto.build();
    }

    private static void set(OptionalLong value, java.util.function.Consumer<Int64Value> setter) {
        value.ifPresent(v -> setter.accept(Int64Value.of(v)));
    }

    private static Optional<Pressure> pressure(Optional<UsageSample.Pressure> pressure) {
        return pressure.map(p -> {
            Pressure.Builder proto = Pressure.newBuilder().setSome(stall(p.some()));
            p.full().ifPresent(full -> proto.setFull(stall(full)));
            return proto.build();
        });
    }

    private static Stall stall(UsageSample.Stall stall) {
        return Stall.newBuilder().setAvg10(stall.avg10()).setAvg60(stall.avg60()).setAvg300(stall.avg300())
                .setTotalMicros(stall.totalMicros()).build();
    }
}
