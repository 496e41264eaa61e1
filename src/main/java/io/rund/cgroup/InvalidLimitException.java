package io.rund.cgroup;

/**
 * A requested limit is out of range, malformed, or names a device that cannot be limited.
 * Raised before anything is created; {@link #field()} is the limit's name as the CLI spells it
 * (e.g. {@code memory-max}, {@code io-wbps}), and the message starts with it.
 */
public final class InvalidLimitException extends Exception {
    private final String field;
    private final String reason;

    public InvalidLimitException(String field, String reason) {
        super(field + ": " + reason);
        this.field = field;
        this.reason = reason;
    }

    /** The limit's name, e.g. {@code cpu-max}. */
    public String field() {
        return field;
    }

    /** What is wrong with it, without the field name. */
    public String reason() {
        return reason;
    }
}
