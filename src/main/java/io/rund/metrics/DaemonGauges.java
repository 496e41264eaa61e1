package io.rund.metrics;

import io.rund.job.JobFigures;

import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

/**
 * What the metrics read from the daemon, as small suppliers (the composition root, io.rund.Rund, wires them): the
 * job registry's figures, log space and followers, and the API door's refusals. Keeps io.rund.metrics free of actors,
 * proto and the API's classes.
 *
 * @param figures            the registry's figures for at most the given number of live jobs
 * @param logBytes           file bytes the job logs take on disk now
 * @param followers          Logs streams following now
 * @param handshakesRefused  TLS handshakes the API refused since start
 * @param connectionsRefused connections the API closed before authentication since start
 */
public record DaemonGauges(FiguresSource figures, LongSupplier logBytes, LongSupplier followers,
                           LongSupplier handshakesRefused, LongSupplier connectionsRefused) {

    /** Asks the job registry (an ask: it never blocks the registry). */
    @FunctionalInterface
    public interface FiguresSource {
        CompletionStage<JobFigures> figures(int maxLive);
    }
}
