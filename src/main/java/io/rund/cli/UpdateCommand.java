package io.rund.cli;

import io.rund.proto.v1.IoLimit;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.UpdateRequest;
import io.rund.proto.v1.UpdateResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code rund update [LIMITS] [--clear LIMIT]... ID}: changes a running job's limits and prints those now in force,
 * read back from its cgroup, as one JSON object.
 */
@Command(name = "update", mixinStandardHelpOptions = true,
        description = "Change the limits of a running job: those given are set, those named by --clear are lifted, "
                + "the rest stay. Prints the limits now in force (read back from the job's cgroup) as one JSON object, "
                + "with oomKills: processes of the job the OOM killer ended while a lower memory-max was applied.")
final class UpdateCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Mixin
    LimitOptions limits;

    @Option(names = "--clear", paramLabel = "LIMIT",
            description = "Lift a limit back to unlimited: cpu-max, memory-max, memory-high, memory-swap-max or "
                    + "pids-max. Repeatable.")
    List<String> clear = new ArrayList<>();

    @Option(names = "--timeout", paramLabel = "DURATION",
            description = "A new deadline, this long from now (2s, 500ms, 1m30s): the job is then stopped as by stop.")
    String timeout;

    @Parameters(paramLabel = "ID", description = "The job's id, as printed by start.")
    String jobId;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        UpdateRequest.Builder request = UpdateRequest.newBuilder().setJobId(jobId).setLimits(limits.toProto())
                .addAllClear(clear);
        if (timeout != null) {
            request.setTimeout(DurationText.toProto(DurationText.parse("--timeout", timeout)));
        }
        UpdateResponse response = connection.call(client -> client.update(request.build()));
        cli.println(json(jobId, response));
        return ExitCodes.OK;
    }

    static String json(String jobId, UpdateResponse response) {
        Limits l = response.getLimits(); // all absent when only the deadline changed
        JsonWriter json = new JsonWriter().beginObject()
                .name("id").value(jobId)
                .name("limits").beginObject()
                .name("cpuMaxQuotaMicros").value(l.hasCpuMaxQuotaMicros() ? l.getCpuMaxQuotaMicros().getValue() : null)
                .name("cpuMaxPeriodMicros").value(l.hasCpuMaxPeriodMicros() ? l.getCpuMaxPeriodMicros().getValue() : null)
                .name("memoryMaxBytes").value(l.hasMemoryMaxBytes() ? l.getMemoryMaxBytes().getValue() : null)
                .name("memoryHighBytes").value(l.hasMemoryHighBytes() ? l.getMemoryHighBytes().getValue() : null)
                .name("memorySwapMaxBytes").value(l.hasMemorySwapMaxBytes() ? l.getMemorySwapMaxBytes().getValue() : null)
                .name("pidsMax").value(l.hasPidsMax() ? l.getPidsMax().getValue() : null)
                .name("io").beginArray();
        for (IoLimit io : l.getIoList()) {
            json.beginObject()
                    .name("device").value(io.hasDevice() ? io.getDevice().getValue() : null)
                    .name("rbps").value(io.hasRbps() ? io.getRbps().getValue() : null)
                    .name("wbps").value(io.hasWbps() ? io.getWbps().getValue() : null)
                    .name("riops").value(io.hasRiops() ? io.getRiops().getValue() : null)
                    .name("wiops").value(io.hasWiops() ? io.getWiops().getValue() : null)
                    .endObject();
        }
        json.endArray();
        if (l.hasL3CacheMask()) {
            json.name("l3CacheMask").value(rdtText(l.getL3CacheMask(), 16));
        }
        if (l.hasMemoryBandwidthPercent()) {
            json.name("memoryBandwidthPercent").value(rdtText(l.getMemoryBandwidthPercent(), 10));
        }
        return json.endObject()
                .name("oomKills").value(response.getOomKills())
                .name("deadline").value(response.hasDeadline() ? java.time.Instant.ofEpochSecond(
                        response.getDeadline().getSeconds(), response.getDeadline().getNanos()).toString() : null)
                .endObject().toString();
    }

    /** An RDT setting as the options take it: "ff0", or "0=ff0,1=f0" by cache domain id. */
    static String rdtText(io.rund.proto.v1.RdtValues values, int radix) {
        StringBuilder text = new StringBuilder();
        if (values.hasEveryDomain()) {
            text.append(Long.toString(values.getEveryDomain().getValue(), radix));
        }
        new java.util.TreeMap<>(values.getByDomainMap()).forEach((id, value) -> text.append(text.isEmpty() ? "" : ",")
                .append(id).append('=').append(Long.toString(value, radix)));
        return text.toString();
    }
}
