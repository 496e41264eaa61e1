package io.rund.cli;

/** A failure the CLI reports as one line on stderr and ends with {@link #exitCode()} (see {@link ExitCodes}). */
public final class CliException extends Exception {

    private final int exitCode;

    public CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public CliException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
