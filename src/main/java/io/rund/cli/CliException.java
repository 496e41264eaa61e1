package io.rund.cli;

/**
 * A failure the CLI reports as one line on stderr and ends with {@link #exitCode()} (see {@link ExitCodes}); a quiet
 * one ({@link #quiet}) prints nothing, as when the reader of our stdout went away.
 */
public final class CliException extends Exception {

    private final int exitCode;
    private final boolean quiet;

    public CliException(int exitCode, String message) {
        this(exitCode, message, null, false);
    }

    public CliException(int exitCode, String message, Throwable cause) {
        this(exitCode, message, cause, false);
    }

    private CliException(int exitCode, String message, Throwable cause, boolean quiet) {
        super(message, cause);
        this.exitCode = exitCode;
        this.quiet = quiet;
    }

    /** An end that says nothing on stderr: {@code why} is for readers of the code and of stack traces only. */
    public static CliException quiet(int exitCode, String why) {
        return new CliException(exitCode, why, null, true);
    }

    public int exitCode() {
        return exitCode;
    }

    public boolean isQuiet() {
        return quiet;
    }
}
