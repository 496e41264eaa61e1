package io.rund.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.rund.Rund;
import io.rund.DaemonConfig;
import io.rund.api.ApiSettings;
import io.rund.auth.PemFiles;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * {@code rund serve}'s command-line concerns: the flags over the layered settings, the refusal of the example keys off
 * loopback, and the exit status; rund itself is started, and run until it ends, by the composition root {@link Rund}.
 */
final class Server {

    private static final Logger LOG = LoggerFactory.getLogger(Server.class);
    /** Organization of the example certificates made by tls/gen.sh, whose keys are public. */
    private static final String EXAMPLE_ORGANIZATION = "O=rund example";

    private Server() {}

    /**
     * What {@code rund serve}'s command line asks for: a configuration file, the flags that override rund.api
     * ({@code null}, empty or false where not given), and whether to print the settings (as JSON when true)
     * instead of serving.
     */
    record Options(PrintStream out, Optional<Path> configFile, String address, Path ca, List<Path> certs,
                   List<Path> keys, Path keyPassphraseFile, boolean insecureExampleKeys,
                   Optional<Boolean> printConfigAsJson, String metricsAddress) {}

    static int run(Options options) throws Exception {
        Config config = withFlags(effectiveConfig(options.configFile()), options);
        if (options.printConfigAsJson().isPresent()) {
            options.out().println(DaemonConfig.render(config, options.printConfigAsJson().get()));
            options.out().flush();
            return ExitCodes.OK;
        }
        Config api = config.getConfig("rund.api");
        ApiSettings settings;
        try {
            settings = ApiSettings.fromConfig(api); // the flags' values are in it: an error names the flag
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.USAGE, e.getMessage());
        }
        TlsFiles tls = settings.tls();
        try {
            // Before the engine starts: a bad certificate must not leave a half-started daemon behind.
            TlsContexts.server(tls);
            if (usesExampleKeys(tls)) {
                if (!isLoopback(settings) && !api.getBoolean("insecure-example-keys")) {
                    throw new CliException(ExitCodes.USAGE, "refusing to serve on " + settings.address() + " with the EXAMPLE keys of tls/ "
                            + "(public: anyone could connect as any client): make your own CA and certificates (--ca, --cert, --key), "
                            + "listen on loopback, or pass --insecure-example-keys");
                }
                LOG.warn("Serving with the EXAMPLE certificates {}: their private keys are public (checked into rund's repository). "
                        + "Make your own CA and certificates before rund runs anything that matters.", tls.cert());
            }
        } catch (TlsSetupException e) {
            throw new CliException(ExitCodes.USAGE, "cannot serve: " + e.getMessage(), e);
        }

        Rund rund;
        try {
            rund = Rund.start(config);
        } catch (io.rund.linux.Keeper.NewerKeeperException e) {
            throw new CliException(ExitCodes.FAILURE, "cannot serve: " + e.getMessage(), e);
        } catch (Rund.ApiStartException e) {
            throw new CliException(ExitCodes.USAGE, e.getMessage(), e.getCause());
        }
        rund.stopOnSignals();
        // rund's own ERROR line has said why it ended, when its registry did.
        return rund.awaitTermination() == Rund.Ending.SHUT_DOWN ? ExitCodes.OK : ExitCodes.SERVE_FAILURE;
    }

    /** The layered configuration, every settings record read once: a bad value ends start here, in one line. */
    private static Config effectiveConfig(Optional<Path> file) throws CliException {
        try {
            Config config = DaemonConfig.load(file);
            DaemonConfig.validate(config);
            return config;
        } catch (DaemonConfig.InvalidSettingException e) {
            throw new CliException(ExitCodes.SERVE_USAGE, e.getMessage());
        }
    }

    /** The flags given, as the rund.api settings they override (so that --print-config shows them too). */
    private static Config withFlags(Config config, Options options) {
        Config flags = config;
        if (options.address() != null) {
            flags = flags.withValue("rund.api.address", ConfigValueFactory.fromAnyRef(options.address(), "--addr"));
        }
        if (options.ca() != null) {
            flags = flags.withValue("rund.api.ca", ConfigValueFactory.fromAnyRef(options.ca().toString(), "--ca"));
        }
        if (options.certs() != null) {
            flags = flags.withValue("rund.api.cert", ConfigValueFactory.fromIterable(strings(options.certs()), "--cert"));
        }
        if (options.keys() != null) {
            flags = flags.withValue("rund.api.key", ConfigValueFactory.fromIterable(strings(options.keys()), "--key"));
        }
        if (options.keyPassphraseFile() != null) {
            flags = flags.withValue("rund.api.key-passphrase-file",
                    ConfigValueFactory.fromAnyRef(options.keyPassphraseFile().toString(), "--key-passphrase-file"));
        }
        if (options.metricsAddress() != null) {
            flags = flags.withValue("rund.metrics.address", ConfigValueFactory.fromAnyRef(options.metricsAddress(), "--metrics-addr"));
        }
        if (options.insecureExampleKeys()) {
            flags = flags.withValue("rund.api.insecure-example-keys", ConfigValueFactory.fromAnyRef(true, "--insecure-example-keys"));
        }
        return flags;
    }

    private static List<String> strings(List<Path> paths) {
        return paths.stream().map(Path::toString).toList();
    }

    /** Whether the server's certificates or the CA it trusts for clients come from tls/gen.sh (their keys are public). */
    static boolean usesExampleKeys(TlsFiles tls) throws TlsSetupException {
        for (X509Certificate authority : PemFiles.certificates(tls.ca())) {
            if (authority.getSubjectX500Principal().getName().contains(EXAMPLE_ORGANIZATION)) {
                return true;
            }
        }
        for (TlsFiles.CertAndKey identity : tls.identities()) {
            if (PemFiles.certificates(identity.cert()).getFirst().getIssuerX500Principal().getName().contains(EXAMPLE_ORGANIZATION)) {
                return true;
            }
        }
        return false;
    }

    /** Whether every address the API listens on is a loopback one (no host: every interface, so no). */
    private static boolean isLoopback(ApiSettings listen) {
        if (listen.host().isEmpty()) {
            return false;
        }
        try {
            for (InetAddress address : InetAddress.getAllByName(listen.host())) {
                if (!address.isLoopbackAddress()) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
