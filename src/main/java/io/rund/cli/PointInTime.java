package io.rund.cli;

import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A point in time on the command line, as {@code --since} takes it: an age before now made of one or more
 * number-unit pairs ({@code 10m}, {@code 1h30m}, {@code 2d}, {@code 500ms}; units ms, s, m, h, d), or an RFC 3339
 * timestamp ({@code 2025-05-01T10:00:00Z}, {@code 2025-05-01T12:00:00.5+02:00}). Errors name the option.
 */
public final class PointInTime {

    private static final Pattern AGE = Pattern.compile("(?:\\d+(?:ms|s|m|h|d))+");
    private static final Pattern AGE_PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    private PointInTime() {}

    public static Instant parse(String option, String text, Clock clock) throws CliException {
        String value = text.strip();
        if (AGE.matcher(value).matches()) {
            return clock.instant().minus(age(option, value));
        }
        try {
            return OffsetDateTime.parse(value).toInstant();
        } catch (DateTimeException e) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + text
                    + "' is neither an age (like 10m, 1h30m, 2d) nor an RFC 3339 time (like 2025-05-01T10:00:00Z)");
        }
    }

    private static Duration age(String option, String value) throws CliException {
        Duration total = Duration.ZERO;
        Matcher part = AGE_PART.matcher(value);
        try {
            while (part.find()) {
                long amount = Long.parseLong(part.group(1));
                total = total.plus(switch (part.group(2)) {
                    case "ms" -> Duration.ofMillis(amount);
                    case "s" -> Duration.ofSeconds(amount);
                    case "m" -> Duration.ofMinutes(amount);
                    case "h" -> Duration.ofHours(amount);
                    default -> Duration.ofDays(amount);
                });
            }
        } catch (NumberFormatException | ArithmeticException e) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + value + "' is too long an age");
        }
        return total;
    }
}
