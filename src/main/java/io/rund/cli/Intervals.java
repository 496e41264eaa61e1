package io.rund.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An interval option ({@code --interval 1s}, {@code 500ms}, {@code 2m}, or plain seconds such as {@code 1.5}). */
final class Intervals {

    private static final Pattern FORM = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m)?");
    private static final long MILLIS_PER_SECOND = 1000;
    private static final long MILLIS_PER_MINUTE = 60_000;

    private Intervals() {}

    static Duration parse(String option, String text) throws CliException {
        Matcher m = FORM.matcher(text.strip());
        if (!m.matches()) {
            throw new CliException(ExitCodes.USAGE, option + ": expected a duration such as 500ms, 1s or 2m, found \""
                    + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "\"");
        }
        double number = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        long millis = Math.round(number * switch (unit) {
            case "ms" -> 1;
            case "m" -> MILLIS_PER_MINUTE;
            default -> MILLIS_PER_SECOND;
        });
        if (millis <= 0) {
            throw new CliException(ExitCodes.USAGE, option + ": must be above 0");
        }
        return Duration.ofMillis(millis);
    }

    static com.google.protobuf.Duration toProto(Duration duration) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(duration.getSeconds()).setNanos(duration.getNano()).build();
    }
}
