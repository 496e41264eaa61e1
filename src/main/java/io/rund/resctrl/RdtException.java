package io.rund.resctrl;

/**
 * An Intel RDT request this host cannot honour, as a typed value: the host lacks RDT or resctrl ({@link
 * Kind#UNSUPPORTED}), a value is outside what the host's info/ directory allows ({@link Kind#INVALID}, naming the
 * CLI field), every CLOSID is taken ({@link Kind#EXHAUSTED}), or a resctrl file could not be used ({@link Kind#IO}).
 */
public final class RdtException extends Exception {

    public enum Kind { UNSUPPORTED, INVALID, EXHAUSTED, IO }

    private final Kind kind;
    private final String field;

    public RdtException(Kind kind, String field, String message) {
        super(message);
        this.kind = kind;
        this.field = field;
    }

    public RdtException(Kind kind, String field, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.field = field;
    }

    public Kind kind() {
        return kind;
    }

    /** The CLI name of the setting at fault ({@code l3-cache-mask}, {@code memory-bandwidth}). */
    public String field() {
        return field;
    }
}
