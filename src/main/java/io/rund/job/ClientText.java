package io.rund.job;

/**
 * How text a client sent is quoted in rund's errors and logs: truncated and escaped, so that no request can make an
 * error message huge (a 3 MB job id echoed back hung clients) or forge a line in the daemon's log (a newline in a
 * user name). Every message that quotes client input goes through {@link #quote}; {@link JobError} passes its
 * whole text through {@link #escape} as well, whatever its parts came from.
 */
public final class ClientText {

    /** Characters of client input quoted at most; the rest is counted, not shown. */
    public static final int MAX_QUOTED_CHARS = 200;
    /** Characters of a whole error message at most (a few quoted values and rund's own words). */
    public static final int MAX_MESSAGE_CHARS = 1000;

    private ClientText() {}

    /** {@code input} in single quotes, escaped, cut after {@link #MAX_QUOTED_CHARS} characters. */
    public static String quote(String input) {
        if (input == null) {
            return "(none)";
        }
        return "'" + excerpt(input.replace("'", "\\'")) + "'";
    }

    /** {@code input} escaped and cut after {@link #MAX_QUOTED_CHARS} characters, unquoted (as in "env[NAME]"). */
    public static String excerpt(String input) {
        return input == null ? "" : bounded(input, MAX_QUOTED_CHARS);
    }

    /** {@code text} with every control or format character escaped, cut after {@link #MAX_MESSAGE_CHARS}. */
    public static String escape(String text) {
        return text == null ? "" : bounded(text, MAX_MESSAGE_CHARS);
    }

    private static String bounded(String text, int maxChars) {
        int shown = Math.min(text.length(), maxChars);
        if (shown < text.length() && Character.isHighSurrogate(text.charAt(shown - 1))) {
            shown--;
        }
        StringBuilder out = new StringBuilder(shown + 32);
        for (int i = 0; i < shown; i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\0' -> out.append("\\0");
                default -> {
                    if (Character.isHighSurrogate(c) && i + 1 < shown && Character.isLowSurrogate(text.charAt(i + 1))) {
                        out.append(c).append(text.charAt(++i));
                    } else if (mustEscape(c)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        if (shown < text.length()) {
            out.append("...(").append(text.length() - shown).append(" more characters)");
        }
        return out.toString();
    }

    /**
     * C0 and C1 controls, Unicode format characters (bidirectional overrides, zero-width), line and paragraph
     * separators, and unpaired surrogates (a pair, one character beyond the BMP, is kept): anything that could move a terminal's cursor, break a log line, or make a
     * quoted value look like something else.
     */
    private static boolean mustEscape(char c) {
        int type = Character.getType(c);
        return Character.isISOControl(c)
                || type == Character.FORMAT
                || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR
                || type == Character.SURROGATE;
    }
}
