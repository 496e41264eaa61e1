package io.rund.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.rund.Daemon;
import io.rund.DaemonConfig;
import io.rund.api.ApiServer;
import io.rund.api.ApiSettings;
import io.rund.api.JobServiceImpl;
import io.rund.auth.PemFiles;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.nio.file.Path;
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
     * What {@code rund serve}'s command line asks for: a configuration file, the flags that override rund.api, and
     * whether to print the settings (as JSON when true) instead of serving.
     */
    record Options(PrintStream out, Optional<Path> configFile, String address, Path ca, Path cert, Path key, Optional<Boolean> printConfigAsJson) {}

    static int run(Options options) throws Exception {
        Config config = withFlags(effectiveConfig(options.configFile()), options);
        if (options.printConfigAsJson().isPresent()) {
            options.out().println(DaemonConfig.render(config, options.printConfigAsJson().get()));
            options.out().flush();
            return ExitCodes.OK;
        }
        String address = options.address();
        Path ca = options.ca();
        Path cert = options.cert();
        Path key = options.key();
        Config api = config.getConfig("rund.api");
        HostPort listen = HostPort.parse("--addr", address != null ? address : api.getString("address"));
        TlsFiles tls = new TlsFiles(
                ca != null ? ca : Path.of(api.getString("ca")),
                cert != null ? cert : Path.of(api.getString("cert")),
                key != null ? key : Path.of(api.getString("key"))).resolvedAgainstRundHome();
        try {
            // Before the engine starts: a bad certificate must not leave a half-started daemon behind.
            TlsContexts.server(tls);
            warnIfExampleCertificate(tls);
        } catch (TlsSetupException e) {
            throw new CliException(ExitCodes.USAGE, "cannot serve: " + e.getMessage(), e);
        }

        Daemon daemon = Daemon.start(config);
        Duration askTimeout = daemon.settings().stopGracePeriod().plus(api.getDuration("ask-margin"));
        ApiSettings settings = new ApiSettings(listen.host(), listen.port(), tls);
        try {
            ApiServer server = ApiServer.start(daemon.system(), settings,
                    new JobServiceImpl(daemon.registry(), daemon.system(), askTimeout)).toCompletableFuture().get();
            LOG.info("rund serves on {} (TLS 1.3, client certificates signed by {})", server.localAddress(), tls.ca());
        } catch (TlsSetupException | ExecutionException e) {
            daemon.shutdown().join();
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new CliException(ExitCodes.USAGE, "cannot serve on " + listen + ": " + cause.getMessage(), cause);
        }
        daemon.stopOnSignals();
        daemon.awaitTermination();
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
        if (options.cert() != null) {
            flags = flags.withValue("rund.api.cert", ConfigValueFactory.fromAnyRef(options.cert().toString(), "--cert"));
        }
        if (options.key() != null) {
            flags = flags.withValue("rund.api.key", ConfigValueFactory.fromAnyRef(options.key().toString(), "--key"));
        }
        return flags;
    }

    private static void warnIfExampleCertificate(TlsFiles tls) throws TlsSetupException {
        X509Certificate server = PemFiles.certificates(tls.cert()).getFirst();
        if (server.getIssuerX500Principal().getName().contains(EXAMPLE_ORGANIZATION)) {
            LOG.warn("Serving with the EXAMPLE certificate {}: its private key is public (checked into rund's repository). "
                    + "Make your own CA and certificates before rund runs anything that matters.", tls.cert());
        }
    }
}
