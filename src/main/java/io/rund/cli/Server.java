package io.rund.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rund.Daemon;
import io.rund.api.ApiServer;
import io.rund.api.ApiSettings;
import io.rund.api.JobServiceImpl;
import io.rund.auth.PemFiles;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
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

    static int run(String address, Path ca, Path cert, Path key) throws Exception {
        Config config = ConfigFactory.load();
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

        Daemon daemon;
        try {
            daemon = Daemon.start(config);
        } catch (io.rund.linux.Keeper.NewerKeeperException e) {
            throw new CliException(ExitCodes.FAILURE, "cannot serve: " + e.getMessage(), e);
        }
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

    private static void warnIfExampleCertificate(TlsFiles tls) throws TlsSetupException {
        X509Certificate server = PemFiles.certificates(tls.cert()).getFirst();
        if (server.getIssuerX500Principal().getName().contains(EXAMPLE_ORGANIZATION)) {
            LOG.warn("Serving with the EXAMPLE certificate {}: its private key is public (checked into rund's repository). "
                    + "Make your own CA and certificates before rund runs anything that matters.", tls.cert());
        }
    }
}
