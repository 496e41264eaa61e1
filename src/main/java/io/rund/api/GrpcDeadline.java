package io.rund.api;

import org.apache.pekko.grpc.javadsl.Metadata;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The time a call has left, from its grpc-timeout header (the gRPC over HTTP/2 spec: up to 8 digits and a unit,
 * H M S m u n). A call that waits for something (Status with wait_for_end) waits at most this long; absent or
 * malformed: the client set no deadline.
 */
final class GrpcDeadline {

    static final String HEADER = "grpc-timeout";
    private static final int MAX_DIGITS = 8;

    private GrpcDeadline() {}

    static Optional<Duration> of(Metadata metadata) {
        return metadata.getText(HEADER).flatMap(GrpcDeadline::parse);
    }

    static Optional<Duration> parse(String value) {
        if (value.length() < 2 || value.length() > MAX_DIGITS + 1) {
            return Optional.empty();
        }
        String digits = value.substring(0, value.length() - 1);
        for (int i = 0; i < digits.length(); i++) {
            if (!Character.isDigit(digits.charAt(i))) {
                return Optional.empty();
            }
        }
        long amount = Long.parseLong(digits);
        TimeUnit unit = switch (value.charAt(value.length() - 1)) {
            case 'H' -> TimeUnit.HOURS;
            case 'M' -> TimeUnit.MINUTES;
            case 'S' -> TimeUnit.SECONDS;
            case 'm' -> TimeUnit.MILLISECONDS;
            case 'u' -> TimeUnit.MICROSECONDS;
            case 'n' -> TimeUnit.NANOSECONDS;
            default -> null;
        };
        return unit == null ? Optional.empty() : Optional.of(Duration.of(amount, unit.toChronoUnit()));
    }
}
