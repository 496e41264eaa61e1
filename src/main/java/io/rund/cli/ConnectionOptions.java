package io.rund.cli;

import io.grpc.ClientInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.auth.TlsFiles;
import picocli.CommandLine.Option;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Where a client command connects and with which certificate: flags, else the RUND_* environment variables,
 * else the defaults of DESIGN.md (the example certificates under tls/). Relative paths are relative to the working
 * directory only: a file missing there is an error naming it.
 * Also turns a failed call into the one-line message and exit code the CLI reports.
 */
public final class ConnectionOptions {

    @Option(names = "--addr", paramLabel = "HOST:PORT", defaultValue = "${env:RUND_ADDR:-localhost:8000}",
            description = "Server address (env RUND_ADDR, default ${DEFAULT-VALUE}).")
    String address;

    @Option(names = "--ca", paramLabel = "FILE", defaultValue = "${env:RUND_CA:-tls/ca.pem}",
            description = "PEM CA certificate(s) that sign the server's certificate (env RUND_CA, default ${DEFAULT-VALUE}).")
    Path ca;

    @Option(names = "--cert", paramLabel = "FILE", defaultValue = "${env:RUND_CERT:-tls/client.pem}",
            description = "PEM client certificate: its SANs are your identity (env RUND_CERT, default ${DEFAULT-VALUE}).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", defaultValue = "${env:RUND_KEY:-tls/client-key.pem}",
            description = "PEM private key of the client certificate: PKCS#8 (plain or encrypted), SEC1 EC or PKCS#1 RSA (env RUND_KEY, default ${DEFAULT-VALUE}).")
    Path key;

    @Option(names = "--key-passphrase-file", paramLabel = "FILE", defaultValue = "${env:RUND_KEY_PASSPHRASE_FILE}",
            description = "File whose first line is the passphrase of an encrypted --key (env RUND_KEY_PASSPHRASE_FILE; mode 0600).")
    Path keyPassphraseFile;

    public RundClient connect(ClientInterceptor... interceptors) throws CliException {
        AgentConnections shared = AgentConnections.installed();
        if (shared != null && interceptors.length == 0) {
            return shared.connect(HostPort.parse("--addr", address), new TlsFiles(ca, cert, key, keyPassphraseFile));
        }
        return RundClient.connect(HostPort.parse("--addr", address), new TlsFiles(ca, cert, key, keyPassphraseFile),
                interceptors);
    }

    /** One call over a connection of its own; a failed call becomes the CLI's one-line error ({@link #failure}). */
    public <T> T call(Function<RundClient, T> call) throws CliException {
        try (RundClient client = connect()) {
            try {
                return call.apply(client);
            } catch (StatusRuntimeException e) {
                throw failure(client, e);
            }
        }
    }

    /** The one-line report of a failed call to {@code client}. */
    public static CliException failure(RundClient client, StatusRuntimeException e) {
        Status status = e.getStatus();
        SSLException tls = causeOfType(e, SSLException.class);
        if (tls == null && closedUnderneath(e)) {
            tls = client.refusal().orElse(null);
        }
        if (tls != null) {
            return new CliException(ExitCodes.PERMISSION, "TLS with " + client.address() + " failed: " + tls.getMessage(), e);
        }
        ConnectException connect = causeOfType(e, ConnectException.class);
        if (connect != null) {
            return new CliException(ExitCodes.UNAVAILABLE, "cannot reach rund at " + client.address() + ": " + connect.getMessage(), e);
        }
        String description = status.getDescription() == null ? status.getCode().name() : status.getDescription();
        if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
            description = "rund at " + client.address() + " is unavailable: " + description;
        }
        return new CliException(ExitCodes.forStatus(status.getCode()), description, e);
    }

    /**
     * The connection broke without a word from TLS: with TLS 1.3 that is how a refused client certificate can look
     * ({@link RundClient#refusal}).
     */
    private static boolean closedUnderneath(StatusRuntimeException e) {
        return e.getStatus().getCode() == Status.Code.UNAVAILABLE && causeOfType(e, ConnectException.class) == null
                && (causeOfType(e, IOException.class) != null || e.getStatus().getCause() == null);
    }

    private static <T extends Throwable> T causeOfType(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }
}
