package io.rund.cli;

import com.google.protobuf.Int64Value;
import io.rund.proto.v1.Pressure;
import io.rund.proto.v1.StatsSample;
import io.rund.proto.v1.Stall;

import java.time.Instant;

/**
 * A Stats sample as the JSON object {@code rund stats} prints: keys as in {@link JobStatusJson} (camelCase, times in
 * ISO-8601 UTC, state in lower case); a figure the host does not measure is null, never 0. Stable for scripts.
 */
final class StatsJson {

    private StatsJson() {}

    static String of(StatsSample s) {
        JsonWriter json = new JsonWriter().beginObject()
                .name("id").value(s.getJobId())
                .name("state").value(JobStatusJson.state(s.getState()));
        if (!s.getHost().isEmpty()) {
            json.name("host").value(s.getHost());
        }
        json.name("time").value(Instant.ofEpochSecond(s.getTime().getSeconds(), s.getTime().getNanos()).toString())
                .name("cpu").beginObject()
                .name("usageMicros").value(s.getCpuUsageMicros())
                .name("userMicros").value(s.getCpuUserMicros())
                .name("systemMicros").value(s.getCpuSystemMicros())
                .name("periods").value(number(s.hasCpuPeriods(), s.getCpuPeriods()))
                .name("throttledPeriods").value(number(s.hasCpuThrottledPeriods(), s.getCpuThrottledPeriods()))
                .name("throttledMicros").value(number(s.hasCpuThrottledMicros(), s.getCpuThrottledMicros()))
                .endObject()
                .name("memory");
        if (s.hasMemoryCurrentBytes()) {
            json.beginObject()
                    .name("currentBytes").value(s.getMemoryCurrentBytes().getValue())
                    .name("peakBytes").value(number(s.hasMemoryPeakBytes(), s.getMemoryPeakBytes()))
                    .name("events").beginObject()
                    .name("low").value(s.getMemoryEvents().getLow())
                    .name("high").value(s.getMemoryEvents().getHigh())
                    .name("max").value(s.getMemoryEvents().getMax())
                    .name("oom").value(s.getMemoryEvents().getOom())
                    .name("oomKill").value(s.getMemoryEvents().getOomKill())
                    .endObject().endObject();
        } else {
            json.nullValue();
        }
        json.name("io").beginArray();
        for (var device : s.getIoList()) {
            json.beginObject()
                    .name("device").value(device.getDevice())
                    .name("name").value(device.getName().isEmpty() ? null : device.getName())
                    .name("readBytes").value(device.getReadBytes())
                    .name("writeBytes").value(device.getWriteBytes())
                    .name("readOps").value(device.getReadOps())
                    .name("writeOps").value(device.getWriteOps())
                    .endObject();
        }
        json.endArray().name("pids");
        if (s.hasPidsCurrent()) {
            json.beginObject().name("current").value(s.getPidsCurrent().getValue())
                    .name("max").value(number(s.hasPidsMax(), s.getPidsMax())).endObject();
        } else {
            json.nullValue();
        }
        json.name("pressure").beginObject();
        pressure(json.name("cpu"), s.hasCpuPressure(), s.getCpuPressure());
        pressure(json.name("memory"), s.hasMemoryPressure(), s.getMemoryPressure());
        pressure(json.name("io"), s.hasIoPressure(), s.getIoPressure());
        return json.endObject().endObject().toString();
    }

    private static void pressure(JsonWriter json, boolean present, Pressure pressure) {
        if (!present) {
            json.nullValue();
            return;
        }
        json.beginObject();
        stall(json.name("some"), true, pressure.getSome());
        stall(json.name("full"), pressure.hasFull(), pressure.getFull());
        json.endObject();
    }

    private static void stall(JsonWriter json, boolean present, Stall stall) {
        if (!present) {
            json.nullValue();
            return;
        }
        json.beginObject().name("avg10").value(stall.getAvg10()).name("avg60").value(stall.getAvg60())
                .name("avg300").value(stall.getAvg300()).name("totalMicros").value(stall.getTotalMicros()).endObject();
    }

    private static Long number(boolean present, Int64Value value) {
        return present ? value.getValue() : null;
    }
}
