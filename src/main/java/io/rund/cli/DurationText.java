package io.rund.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as the CLI takes them ({@code --timeout}, {@code --grace}): one or more whole numbers each with a unit,
 * largest first, as Go and systemd write them: "2s", "500ms", "1m30s", "1h", "0s". Rejected with a one-line message
 * naming the option otherwise.
 */
final class DurationText {

    private static final Pattern WHOLE = Pattern.compile("(?:\\d{1,9}(?:h|ms|m|s))+");
    private static final Pattern PART = Pattern.compile("(\\d{1,9})(h|ms|m|s)");

    private DurationText() {}

    static Duration parse(String option, String text) throws CliException {
        String trimmed = text.strip();
        if (!WHOLE.matcher(trimmed).matches()) {
            throw new CliException(ExitCodes.USAGE, option + ": \"" + (trimmed.length() > 40 ? trimmed.substring(0, 40) + "..." : trimmed)
                    + "\" is not a duration; write it like 2s, 500ms or 1m30s");
        }
        Duration total = Duration.ZERO;
        Matcher part = PART.matcher(trimmed);
        while (part.find()) {
            long amount = Long.parseLong(part.group(1));
            total = total.plus(switch (part.group(2)) {
                case "h" -> Duration.ofHours(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "s" -> Duration.ofSeconds(amount);
                default -> Duration.ofMillis(amount);
            });
        }
        return total;
    }

    static com.google.protobuf.Duration toProto(Duration duration) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(duration.getSeconds()).setNanos(duration.getNano()).build();
    }

    /** "1m30s", "500ms", "0s": how status output shows a duration. */
    static String format(Duration duration) {
        if (duration.isZero()) {
            return "0s";
        }
        StringBuilder text = new StringBuilder();
        long hours = duration.toHours();
        if (hours > 0) {
            text.append(hours).append('h');
        }
        if (duration.toMinutesPart() > 0) {
            text.append(duration.toMinutesPart()).append('m');
        }
        if (duration.toSecondsPart() > 0) {
            text.append(duration.toSecondsPart()).append('s');
        }
        if (duration.toMillisPart() > 0) {
            text.append(duration.toMillisPart()).append("ms");
        }
        return text.isEmpty() ? "0s" : text.toString();
    }
}
