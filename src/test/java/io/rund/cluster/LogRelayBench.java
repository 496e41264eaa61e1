package io.rund.cluster;

import io.rund.logs.LogQuery;
import io.rund.logs.LogRecord;
import io.rund.logs.LogSettings;
import io.rund.logs.LogSpace;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;
import io.rund.logs.LogWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.StreamRefAttributes;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Prints what a follower on another node costs against a local follow of the same log, in the same run: delivered
 * MB/s of a finished log (relay with rund's buffer-capacity, with 4 and 16, and with Pekko's default of 32) and the latency of paced
 * small records from append to receipt (p50, p99), both followers attached to the same live log at once. Two
 * cluster systems in this JVM over Artery on loopback (plain TCP), serialize-messages off as in production.
 * Run: bin/bench-relay [MiB] (default 200).
 */
public final class LogRelayBench {

    private static final int MIB = 1024 * 1024;
    private static final int ROUNDS = 3;
    private static final int PACED_RECORDS = 1000;
    private static final long PACE_MICROS = 2000;
    private static final int PEKKO_DEFAULT_BUFFER = 32;

    private LogRelayBench() {}

    public static void main(String[] args) throws Exception {
        long bytes = (args.length > 0 ? Long.parseLong(args[0]) : 200) * MIB;
        Path dir = Files.createTempDirectory("rund-relay-bench");
        try (RelayNodes nodes = new RelayNodes(false)) {
            int buffer = nodes.nodeA.settings().config().getInt("pekko.stream.materializer.stream-ref.buffer-capacity");
            LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("finished.log"));
            LogRelayTest.writeMixed(log.writer(), bytes, new SplittableRandom(1));
            log.writer().seal();
            double[] local = new double[ROUNDS];
            double[] relay = new double[ROUNDS];
            int[] otherBuffers = {4, 16, PEKKO_DEFAULT_BUFFER};
            double[][] relayOther = new double[otherBuffers.length][ROUNDS];
            for (int round = -1; round < ROUNDS; round++) { // round -1 warms up
                double l = mbPerSecond(bytes, () -> log.follow(LogQuery.from(0, true)).runWith(countBytes(), nodes.nodeB));
                double r = mbPerSecond(bytes, () -> nodes.relay(log, 0, true).runWith(countBytes(), nodes.nodeA));
                if (round >= 0) {
                    local[round] = l;
                    relay[round] = r;
                }
                for (int b = 0; b < otherBuffers.length; b++) {
                    int capacity = otherBuffers[b];
                    double o = mbPerSecond(bytes, () -> nodes.relay(log, 0, true)
                            .addAttributes(StreamRefAttributes.bufferCapacity(capacity))
                            .runWith(countBytes(), nodes.nodeA));
                    if (round >= 0) {
                        relayOther[b][round] = o;
                    }
                }
            }
            System.out.printf("finished log of %d MiB, records of 1..64 KiB, median of %d rounds (min..max):%n",
                    bytes / MIB, ROUNDS);
            System.out.printf("  local follow                    %s MB/s%n", spread(local));
            System.out.printf("  relay, buffer-capacity %-2d       %s MB/s%n", buffer, spread(relay));
            for (int b = 0; b < otherBuffers.length; b++) {
                System.out.printf("  relay, buffer-capacity %-2d       %s MB/s%n", otherBuffers[b], spread(relayOther[b]));
            }

            LogStore live = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("live.log"));
            List<Long> localLatency = new ArrayList<>();
            List<Long> relayLatency = new ArrayList<>();
            CompletionStage<?> localDone = live.follow(LogQuery.from(0, true))
                    .runForeach(record -> localLatency.add(latencyOf(record)), nodes.nodeB);
            CompletionStage<?> relayDone = nodes.relay(live, 0, true)
                    .runForeach(record -> relayLatency.add(latencyOf(record)), nodes.nodeA);
            Thread.sleep(1000); // both attached before the first record
            writePaced(live.writer());
            live.writer().seal();
            localDone.toCompletableFuture().get(5, TimeUnit.MINUTES);
            relayDone.toCompletableFuture().get(5, TimeUnit.MINUTES);
            System.out.printf("%d records of 16 bytes, one every %d us, append -> received (both followers at once):%n",
                    PACED_RECORDS, PACE_MICROS);
            System.out.printf("  local follow   p50 %s  p99 %s  (%d received)%n", micros(localLatency, 50),
                    micros(localLatency, 99), localLatency.size());
            System.out.printf("  relay          p50 %s  p99 %s  (%d received)%n", micros(relayLatency, 50),
                    micros(relayLatency, 99), relayLatency.size());
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(file);
                }
            }
        }
    }

    private interface Run {
        CompletionStage<Long> start() throws Exception;
    }

    private static double mbPerSecond(long expected, Run run) throws Exception {
        long start = System.nanoTime();
        long got = run.start().toCompletableFuture().get(5, TimeUnit.MINUTES);
        long nanos = System.nanoTime() - start;
        if (got != expected) {
            throw new AssertionError("received " + got + " bytes, expected " + expected);
        }
        return got / 1e6 / (nanos / 1e9);
    }

    private static Sink<LogRecord, CompletionStage<Long>> countBytes() {
        return Sink.fold(0L, (sum, record) -> sum + record.bytes().length);
    }

    private static void writePaced(LogWriter writer) throws Exception {
        long next = System.nanoTime();
        for (int i = 0; i < PACED_RECORDS; i++) {
            next += PACE_MICROS * 1000;
            while (System.nanoTime() < next) {
                Thread.onSpinWait();
            }
            writer.append(LogStream.STDOUT, ByteBuffer.allocate(16).putLong(System.nanoTime()).putLong(i).flip());
        }
    }

    /** Each paced record is written alone (16 bytes), so a received record carries one send time. */
    private static long latencyOf(LogRecord record) {
        return System.nanoTime() - ByteBuffer.wrap(record.bytes()).getLong();
    }

    private static String micros(List<Long> nanos, int percentile) {
        long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        int index = Math.min(sorted.length - 1, (int) Math.ceil(percentile / 100.0 * sorted.length) - 1);
        return String.format("%7.0f us", sorted[Math.max(0, index)] / 1e3);
    }

    private static String spread(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return String.format("%6.0f (%.0f..%.0f)", sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1]);
    }
}
