package io.rund.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code rund serve}: the daemon. Its settings are rund's defaults (reference.conf) with the file of {@code --config}
 * (or RUND_CONFIG) over them and the RUND_* environment variables over that ({@link io.rund.DaemonConfig}); these
 * flags override the {@code rund.api} settings. The wiring lives in {@link Server} so that client commands, which
 * share this picocli model, never load Pekko's classes.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run the rund daemon: the gRPC API over mutual TLS and the jobs it starts (needs root and cgroup v2).")
final class ServeCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

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

    @Option(names = "--config", paramLabel = "FILE",
            description = "HOCON file layered over rund's defaults: it names only the settings it changes (env RUND_CONFIG)."
                    + " RUND_* environment variables override it, and these flags override both.")
    Path config;

    @Option(names = "--print-config", paramLabel = "FORMAT", arity = "0..1", fallbackValue = "hocon",
            description = "Print the settings in effect (the rund block, keys sorted) as hocon (default) or json, and exit.")
    PrintFormat printConfig;

    enum PrintFormat { hocon, json }

    @Override
    public Integer call() throws Exception {
        return Server.run(new Server.Options(cli.out(), Optional.ofNullable(config), address, ca, cert, key,
                Optional.ofNullable(printConfig).map(format -> format == PrintFormat.json)));
    }
}
