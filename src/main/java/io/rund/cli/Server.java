package io.rund.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import io.rund.Daemon;
import io.rund.DaemonConfig;
import io.rund.api.ApiServer;
import io.rund.api.ApiSettings;
import io.rund.api.JobServiceImpl;
import io.rund.auth.PemFiles;
import io.rund.cluster.Fleets;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;

/**
 * Starts the engine ({@link Daemon}) and then the API in front of it, and runs until shutdown. Settings come
 * from the {@code rund.api} block; the serve command's flags win over it.
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
                   Optional<Boolean> printConfigAsJson) {}

    static int run(Options options) throws Exception {
        Config config = withFlags(effectiveConfig(options.configFile()), options);
        if (options.printConfigAsJson().isPresent()) {
            options.out().println(DaemonConfig.render(config, options.printConfigAsJson().get()));
            options.out().flush();
            return ExitCodes.OK;
        }
        Config api = config.getConfig("rund.api");
        HostPort listen = HostPort.parse("--addr", api.getString("address"));
        TlsFiles tls = tlsFiles(api);
        try {
            // Before the engine starts: a bad certificate must not leave a half-started daemon behind.
            TlsContexts.server(tls);
            if (usesExampleKeys(tls)) {
                if (!isLoopback(listen) && !api.getBoolean("insecure-example-keys")) {
                    throw new CliException(ExitCodes.USAGE, "refusing to serve on " + listen + " with the EXAMPLE keys of tls/ "
                            + "(public: anyone could connect as any client): make your own CA and certificates (--ca, --cert, --key), "
                            + "listen on loopback, or pass --insecure-example-keys");
                }
                LOG.warn("Serving with the EXAMPLE certificates {}: their private keys are public (checked into rund's repository). "
                        + "Make your own CA and certificates before rund runs anything that matters.", tls.cert());
            }
        } catch (TlsSetupException e) {
            throw new CliException(ExitCodes.USAGE, "cannot serve: " + e.getMessage(), e);
        }

        Daemon daemon;
        try {
            daemon = Daemon.start(config);
        } catch (io.rund.linux.Keeper.NewerKeeperException e) {
            throw new CliException(ExitCodes.FAILURE, "cannot serve: " + e.getMessage(), e);
        }
        Duration askTimeout = daemon.settings().stopGracePeriod().plus(api.getDuration("ask-margin"));
        ApiSettings settings = new ApiSettings(listen.host(), listen.port(), tls);
        Fleets.Handle fleet;
        try {
            fleet = Fleets.start(config, daemon.system(), daemon.registry(), askTimeout);
        } catch (TlsSetupException e) {
            daemon.shutdown().join();
            throw new CliException(ExitCodes.USAGE, "cannot join the cluster: " + e.getMessage(), e);
        }
        try {
            ApiServer server = ApiServer.start(daemon.system(), settings,
                    new JobServiceImpl(fleet.fleet(), daemon.system(), askTimeout)).toCompletableFuture().get();
            LOG.info("rund serves on {} (TLS 1.3, client certificates signed by {})", server.localAddress(), tls.ca());
        } catch (TlsSetupException | ExecutionException e) {
            daemon.shutdown().join();
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new CliException(ExitCodes.USAGE, "cannot serve on " + listen + ": " + cause.getMessage(), cause);
        }
        daemon.stopOnSignals();
        daemon.awaitTermination();
        fleet.close();
        return ExitCodes.OK;
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
        if (options.insecureExampleKeys()) {
            flags = flags.withValue("rund.api.insecure-example-keys", ConfigValueFactory.fromAnyRef(true, "--insecure-example-keys"));
        }
        return flags;
    }

    private static List<String> strings(List<Path> paths) {
        return paths.stream().map(Path::toString).toList();
    }

    /** The settings' files (with the flags in them): cert and key are one path each or lists in the same order. */
    private static TlsFiles tlsFiles(Config api) throws CliException {
        List<Path> certs = paths(api, "cert");
        List<Path> keys = paths(api, "key");
        if (certs.isEmpty() || certs.size() != keys.size()) {
            throw new CliException(ExitCodes.USAGE, "--cert and --key (rund.api.cert and rund.api.key) must be given in pairs: "
                    + certs.size() + " certificate(s), " + keys.size() + " key(s)");
        }
        List<TlsFiles.CertAndKey> alternates = new ArrayList<>();
        for (int i = 1; i < certs.size(); i++) {
            alternates.add(new TlsFiles.CertAndKey(certs.get(i), keys.get(i)));
        }
        String passphrase = api.getString("key-passphrase-file");
        Path passphraseFile = passphrase.isEmpty() ? null : Path.of(passphrase);
        Path ca = Path.of(api.getString("ca"));
        return new TlsFiles(ca, certs.getFirst(), keys.getFirst(), passphraseFile, alternates);
    }

    private static List<Path> paths(Config api, String key) {
        if (api.getValue(key).valueType() == ConfigValueType.LIST) {
            return api.getStringList(key).stream().map(Path::of).toList();
        }
        return List.of(Path.of(api.getString(key)));
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

    /** Whether every address {@code listen} names is a loopback one (no host: every interface, so no). */
    private static boolean isLoopback(HostPort listen) {
        if (listen.anyHost()) {
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
