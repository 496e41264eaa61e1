package io.rund.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.auth.TlsFiles;
import picocli.CommandLine.Option;

import javax.net.ssl.SSLException;
import java.net.ConnectException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Where a client command connects and with which certificate: flags, else the RUND_* environment variables,
 * else the defaults of DESIGN.md (the example certificates under tls/, relative to the working directory).
 * Also turns a failed call into the one-line message and exit code the CLI reports.
 */
public final class ConnectionOptions {

    private static final Pattern NATIVE_ERROR_PREFIX = Pattern.compile("^.*failed with error\\(-?\\d+\\): ");

    static final String ADDR_ENV = "RUND_ADDR";
    static final String CA_ENV = "RUND_CA";
    static final String CERT_ENV = "RUND_CERT";
    static final String KEY_ENV = "RUND_KEY";
    static final String DEFAULT_ADDR = "localhost:8000";
    static final String DEFAULT_CA = "tls/ca.pem";
    static final String DEFAULT_CERT = "tls/client.pem";
    static final String DEFAULT_KEY = "tls/client-key.pem";

    @Option(names = "--addr", paramLabel = "HOST:PORT", defaultValue = "${env:" + ADDR_ENV + ":-" + DEFAULT_ADDR + "}",
            description = "Server address (env RUND_ADDR, default ${DEFAULT-VALUE}).")
    String address;

    @Option(names = "--ca", paramLabel = "FILE", defaultValue = "${env:" + CA_ENV + ":-" + DEFAULT_CA + "}",
            description = "PEM CA certificate(s) that sign the server's certificate (env RUND_CA, default ${DEFAULT-VALUE}).")
    Path ca;

    @Option(names = "--cert", paramLabel = "FILE", defaultValue = "${env:" + CERT_ENV + ":-" + DEFAULT_CERT + "}",
            description = "PEM client certificate: its SANs are your identity (env RUND_CERT, default ${DEFAULT-VALUE}).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", defaultValue = "${env:" + KEY_ENV + ":-" + DEFAULT_KEY + "}",
            description = "PKCS#8 PEM key of the client certificate (env RUND_KEY, default ${DEFAULT-VALUE}).")
    Path key;

    public RundClient connect() throws CliException {
        return RundClient.connect(HostPort.parse("--addr", address), new TlsFiles(ca, cert, key));
    }

    /** The one-line report of a failed call to {@code client}. */
    public static CliException failure(RundClient client, StatusRuntimeException e) {
        Status status = e.getStatus();
        SSLException tls = causeOfType(e, SSLException.class);
        if (tls != null) {
            return new CliException(ExitCodes.PERMISSION, "TLS with " + client.address() + " failed: " + tls.getMessage(), e);
        }
        ConnectException connect = causeOfType(e, ConnectException.class);
        if (connect != null) {
            // Netty's native transport prefixes the errno text with the syscall: keep the errno text.
            String reason = NATIVE_ERROR_PREFIX.matcher(String.valueOf(connect.getMessage())).replaceFirst("");
            return new CliException(ExitCodes.UNAVAILABLE, "cannot reach rund at " + client.address() + ": " + reason, e);
        }
        String description = status.getDescription() == null ? status.getCode().name() : status.getDescription();
        if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
            description = "rund at " + client.address() + " is unavailable: " + description;
        }
        return new CliException(ExitCodes.forStatus(status.getCode()), description, e);
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
