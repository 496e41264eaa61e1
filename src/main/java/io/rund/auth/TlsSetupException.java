package io.rund.auth;

/** A TLS file that cannot be used: missing, unreadable, or not what it should be. The message names the file. */
public final class TlsSetupException extends Exception {

    public TlsSetupException(String message) {
        super(message);
    }

    public TlsSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
