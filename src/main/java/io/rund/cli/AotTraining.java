package io.rund.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.Int32Value;
import com.google.protobuf.Int64Value;
import com.google.protobuf.Timestamp;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.cli.http2.CannedGrpcServer;
import io.rund.proto.v1.Accounting;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogTrailer;
import io.rund.proto.v1.StartResponse;
import io.rund.proto.v1.StatusResponse;
import io.rund.proto.v1.StopResponse;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * The workload bin/rund runs once after a build, under -XX:AOTCacheOutput, to make the CLI's AOT cache: every
 * client command, quick and picocli paths, help, against a {@link CannedGrpcServer} with the example certificates
 * (so it needs neither a daemon nor root). The classes and profiles it leaves in the cache are what a real
 * command needs; a command then starts with them loaded and linked.
 */
public final class AotTraining {

    private static final String JOB_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    private static final String SERVICE = "rund.v1.JobController/";
    /** Enough rounds for the JIT to have compiled the TLS and HTTP/2 hot paths whose profiles the cache keeps. */
    private static final int ROUNDS = 3;

    private AotTraining() {}

    /** {@code args[0]}: the directory of the example certificates (tls/ in the checkout). */
    public static void main(String[] args) throws Exception {
        Path tls = Path.of(args.length > 0 ? args[0] : "tls");
        JobStatus status = status();
        try (CannedGrpcServer server = CannedGrpcServer.start(
                TlsContexts.server(new TlsFiles(tls.resolve("ca.pem"), tls.resolve("server.pem"), tls.resolve("server-key.pem"))),
                method -> switch (method) {
                    case SERVICE + "Start" -> List.of(StartResponse.newBuilder().setJobId(JOB_ID).setStatus(status).build().toByteArray());
                    case SERVICE + "Status" -> List.of(StatusResponse.newBuilder().setStatus(status).build().toByteArray());
                    case SERVICE + "Stop" -> List.of(StopResponse.newBuilder().setStatus(status).build().toByteArray());
                    case SERVICE + "List" -> List.of(ListResponse.newBuilder().addJobs(status).build().toByteArray());
                    case SERVICE + "Logs" -> List.of(
                            LogChunk.newBuilder().setData(LogData.newBuilder().setStream(LogStream.LOG_STREAM_STDOUT)
                                    .setData(ByteString.copyFromUtf8("out\n")).setTimestamp(time())).build().toByteArray(),
                            LogChunk.newBuilder().setData(LogData.newBuilder().setStream(LogStream.LOG_STREAM_STDERR).setOffset(4)
                                    .setData(ByteString.copyFromUtf8("err\n")).setTimestamp(time())).build().toByteArray(),
                            LogChunk.newBuilder().setTrailer(LogTrailer.newBuilder().setStatus(status)).build().toByteArray());
                    default -> null;
                })) {
            List<String> connection = List.of("--addr", "localhost:" + server.port(), "--ca", tls.resolve("ca.pem").toString(),
                    "--cert", tls.resolve("client.pem").toString(), "--key", tls.resolve("client-key.pem").toString());
            PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
            for (int round = 0; round < ROUNDS; round++) {
                for (List<String> command : List.of(
                        List.of("status", JOB_ID), List.of("stop", JOB_ID), List.of("list"), List.of("list", "--json"),
                        List.of("start", "--", "sleep", "1"), List.of("start", "--memory-max", "1G", "--", "true"),
                        List.of("logs", JOB_ID), List.of("run", "--", "true"))) {
                    String[] line = concat(command.getFirst(), connection, command.subList(1, command.size()));
                    int code = RundCli.execute(discard, discard, line);
                    if (code != ExitCodes.OK) {
                        throw new IllegalStateException("training command " + String.join(" ", line) + " exited with " + code);
                    }
                }
                RundCli.execute(discard, discard, "--help");
                RundCli.execute(discard, discard, "status", "--help");
            }
        }
    }

    private static String[] concat(String command, List<String> connection, List<String> rest) {
        String[] line = new String[1 + connection.size() + rest.size()];
        line[0] = command;
        for (int i = 0; i < connection.size(); i++) {
            line[1 + i] = connection.get(i);
        }
        for (int i = 0; i < rest.size(); i++) {
            line[1 + connection.size() + i] = rest.get(i);
        }
        return line;
    }

    private static JobStatus status() {
        return JobStatus.newBuilder().setId(JOB_ID).setCommand("sleep").addArgs("1").setState(JobState.JOB_STATE_EXITED)
                .setPid(Int32Value.of(4242)).setExitCode(Int32Value.of(0)).setCreatedAt(time()).setStartedAt(time()).setEndedAt(time())
                .setUsage(Accounting.newBuilder().setCpuUsageMicros(1).setCpuUserMicros(1).setCpuSystemMicros(0)
                        .setMemoryPeakBytes(Int64Value.of(1)).setIoReadBytes(Int64Value.of(0)))
                .build();
    }

    private static Timestamp time() {
        return Timestamp.newBuilder().setSeconds(1_700_000_000L).setNanos(1).build();
    }
}
