package io.rund.cli;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogsRequest;

import java.net.ConnectException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Copies a job's log to this process ({@link LogOutput}) and returns the stream's trailer. A stream that breaks
 * (the connection dropped: UNAVAILABLE) is asked for again from the offset just past the last byte received,
 * so the output has neither a gap nor a repeat; it keeps trying, backing off, for {@link #RECONNECT_FOR} after
 * the last byte it received. If the output it asks for was dropped meanwhile (the log size cap), it says which
 * bytes are missing and continues where the retained output starts.
 */
final class LogCopier {

    /** How long after the last successful read a broken stream is tried again before giving up. */
    static final Duration RECONNECT_FOR = Duration.ofSeconds(60);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    private static final Metadata.Key<String> RETAINED_FROM =
            Metadata.Key.of("rund-retained-from", Metadata.ASCII_STRING_MARSHALLER);

    private final RundClient client;
    private final LogOutput output;
    private final Consumer<String> warn;
    private final Clock clock;

    LogCopier(RundClient client, LogOutput output, Consumer<String> warn, Clock clock) {
        this.client = client;
        this.output = output;
        this.warn = warn;
        this.clock = clock;
    }

    /** The job status of the stream's trailer, or empty if the stream ended without one. */
    Optional<JobStatus> copy(LogsRequest request) throws CliException {
        LogsRequest attempt = request;
        long next = -1; // the offset just past the last byte received; -1 before the first
        boolean established = false;
        Instant lastProgress = clock.instant();
        Duration backoff = FIRST_BACKOFF;
        while (true) {
            try {
                Iterator<LogChunk> chunks = client.logs(attempt);
                while (chunks.hasNext()) {
                    LogChunk chunk = chunks.next();
                    established = true;
                    lastProgress = clock.instant();
                    backoff = FIRST_BACKOFF;
                    switch (chunk.getKindCase()) {
                        case DATA -> {
                            LogData data = chunk.getData();
                            if (next < 0 && data.getOffset() > 0 && asksForEverything(request)) {
                                warn.accept("the job's output before offset " + data.getOffset()
                                        + " was dropped (log size cap); what follows is the oldest output rund still holds");
                            }
                            output.write(data);
                            next = data.getOffset() + data.getData().size();
                        }
                        case TRAILER -> {
                            return Optional.of(chunk.getTrailer().getStatus());
                        }
                        case KIND_NOT_SET -> throw new CliException(ExitCodes.FAILURE, "the server sent an empty log chunk");
                    }
                }
                return Optional.empty();
            } catch (StatusRuntimeException e) {
                Status.Code code = e.getStatus().getCode();
                if (code == Status.Code.OUT_OF_RANGE && next >= 0 && retainedFrom(e).isPresent()) {
                    long retained = retainedFrom(e).get();
                    warn.accept("the job's output from offset " + next + " to " + retained
                            + " was dropped (log size cap) while reconnecting; continuing at " + retained);
                    next = retained;
                    attempt = request.toBuilder().setFromOffset(next).build();
                    continue;
                }
                boolean broken = code == Status.Code.UNAVAILABLE && (established || !refusedConnection(e));
                if (!broken || clock.instant().isAfter(lastProgress.plus(RECONNECT_FOR))) {
                    throw ConnectionOptions.failure(client, e);
                }
                sleep(backoff);
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
                attempt = next >= 0 ? request.toBuilder().setFromOffset(next).build() : request;
            }
        }
    }

    /** All of both streams: then a first chunk past offset 0 means the oldest output was dropped. */
    private static boolean asksForEverything(LogsRequest request) {
        return request.getStartCase() == LogsRequest.StartCase.START_NOT_SET
                && request.getStream() == io.rund.proto.v1.LogStream.LOG_STREAM_UNSPECIFIED;
    }

    private static Optional<Long> retainedFrom(StatusRuntimeException e) {
        Metadata trailers = e.getTrailers();
        String value = trailers == null ? null : trailers.get(RETAINED_FROM);
        try {
            return value == null ? Optional.empty() : Optional.of(Long.parseLong(value));
        } catch (NumberFormatException bad) {
            return Optional.empty();
        }
    }

    /** The server was never reached (nothing listens, or TLS refused us): not a broken stream to resume. */
    private static boolean refusedConnection(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof javax.net.ssl.SSLException) {
                return true;
            }
        }
        return false;
    }

    private static void sleep(Duration pause) throws CliException {
        try {
            Thread.sleep(pause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(ExitCodes.UNAVAILABLE, "interrupted while reconnecting", e);
        }
    }
}
