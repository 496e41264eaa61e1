package io.rund.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.nio.file.Path;
import java.util.List;
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
            description = "Address to listen on; no host (:PORT) means every interface (config rund.api.address, env RUND_SERVE_ADDR; default 127.0.0.1:8000).")
    String address;

    @Option(names = "--ca", paramLabel = "FILE",
            description = "PEM CA certificate(s) that sign client certificates (rund.api.ca, env RUND_SERVE_CA; default tls/ca.pem).")
    Path ca;

    @Option(names = "--cert", paramLabel = "FILE",
            description = "PEM server certificate; repeat it (with --key) to hold several, the first preferred: each client gets the "
                    + "first it can verify (rund.api.cert, env RUND_SERVE_CERT; default tls/server.pem, then tls/server-p256.pem).")
    List<Path> certs;

    @Option(names = "--key", paramLabel = "FILE",
            description = "PEM key of each --cert, in the same order: PKCS#8 (plain or encrypted), SEC1 EC or PKCS#1 RSA "
                    + "(rund.api.key, env RUND_SERVE_KEY; default tls/server-key.pem, then tls/server-p256-key.pem).")
    List<Path> keys;

    @Option(names = "--key-passphrase-file", paramLabel = "FILE",
            description = "File whose first line is the passphrase of encrypted keys (rund.api.key-passphrase-file, "
                    + "env RUND_SERVE_KEY_PASSPHRASE_FILE; mode 0600).")
    Path keyPassphraseFile;

    @Option(names = "--insecure-example-keys",
            description = "Serve on a non-loopback address even with the EXAMPLE keys of tls/ (public: anyone can be any client) "
                    + "(rund.api.insecure-example-keys, env RUND_INSECURE_EXAMPLE_KEYS).")
    boolean insecureExampleKeys;

    @Option(names = "--metrics-addr", paramLabel = "HOST:PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (config rund.metrics.address, env RUND_METRICS_ADDR;"
                    + " default: none). Loopback only unless rund.metrics.allow-non-loopback is set.")
    String metricsAddress;

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
        return Server.run(new Server.Options(cli.out(), Optional.ofNullable(config), address, ca, certs, keys,
                keyPassphraseFile, insecureExampleKeys, Optional.ofNullable(printConfig).map(format -> format == PrintFormat.json), metricsAddress));
    }
}
