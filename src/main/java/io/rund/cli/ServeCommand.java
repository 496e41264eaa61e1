package io.rund.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code rund serve}: the daemon. Flags override the {@code rund.api} settings of application.conf (which
 * environment variables override in turn). The wiring lives in {@link Server} so that client commands, which
 * share this picocli model, never load Pekko's classes.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run the rund daemon: the gRPC API over mutual TLS and the jobs it starts (needs root and cgroup v2).")
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--addr", paramLabel = "[HOST]:PORT",
            description = "Address to listen on; no host means every interface (config rund.api.address, env RUND_SERVE_ADDR; default :8000).")
    String address;

    @Option(names = "--ca", paramLabel = "FILE",
            description = "PEM CA certificate(s) that sign client certificates (rund.api.ca, env RUND_SERVE_CA; default tls/ca.pem).")
    Path ca;

    @Option(names = "--cert", paramLabel = "FILE",
            description = "PEM server certificate (rund.api.cert, env RUND_SERVE_CERT; default tls/server.pem).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE",
            description = "PKCS#8 PEM key of the server certificate (rund.api.key, env RUND_SERVE_KEY; default tls/server-key.pem).")
    Path key;

    @Override
    public Integer call() throws Exception {
        return Server.run(address, ca, cert, key);
    }
}
