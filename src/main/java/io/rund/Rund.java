package io.rund;

import com.typesafe.config.Config;
import io.rund.api.ApiServer;
import io.rund.api.ApiSettings;
import io.rund.api.ConnectionDoor;
import io.rund.api.JobServiceImpl;
import io.rund.auth.TlsSetupException;
import io.rund.cluster.Fleets;
import io.rund.job.JobRegistry;
import io.rund.metrics.DaemonGauges;
import io.rund.metrics.MetricsServer;
import io.rund.metrics.MetricsSettings;
import io.rund.proto.v1.JobControllerPowerApi;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The composition root, wiring only: from one validated configuration it starts the engine ({@link Daemon}: state
 * directory, keeper, job registry), the cluster's fleet (issue 13), and the API in front of them, and tells how rund
 * ended. {@code rund serve} (io.rund.cli.Server, which keeps the command line's concerns), the API tests' fixture and
 * the benchmarks' servers all start rund here, so that what they test is what runs. Shutdown is the engine's
 * coordinated shutdown, which the API's binding and every part join.
 */
public final class Rund {

    private static final Logger LOG = LoggerFactory.getLogger(Rund.class);

    /** How rund ended: shut down (a signal, {@link #shutdown()}), or by itself because its job registry ended. */
    public enum Ending { SHUT_DOWN, REGISTRY_ENDED }

    /** The service the API serves, given rund's own: rund's itself, or one wrapped around it (a benchmark's baseline). */
    @FunctionalInterface
    public interface ServiceChoice {
        JobControllerPowerApi serve(JobControllerPowerApi rund, Daemon engine);
    }

    /** The API or the cluster membership could not start (TLS files, an address); the engine started for them has been shut down again. */
    public static final class ApiStartException extends Exception {
        ApiStartException(String what, Throwable cause) {
            super("cannot " + what + ": " + cause.getMessage(), cause);
        }
    }

    private final Daemon engine;
    private final Fleets.Handle fleet;
    private final ApiServer api;

    private final Optional<MetricsServer> metrics;

    private Rund(Daemon engine, Fleets.Handle fleet, ApiServer api, Optional<MetricsServer> metrics) {
        this.engine = engine;
        this.fleet = fleet;
        this.api = api;
        this.metrics = metrics;
    }

    /** Starts rund as {@code rund serve} runs it; {@code config} is the layered configuration, validated. */
    public static Rund start(Config config) throws IOException, ApiStartException {
        return start(config, (rund, engine) -> rund);
    }

    /** As {@link #start(Config)}, the API serving what {@code service} chooses. */
    public static Rund start(Config config, ServiceChoice service) throws IOException, ApiStartException {
        ApiSettings apiSettings = ApiSettings.fromConfig(config.getConfig("rund.api"));
        Duration askMargin = config.getDuration("rund.api.ask-margin");
        Daemon engine = Daemon.start(config);
        Duration askTimeout = engine.settings().stopGracePeriod().plus(askMargin);
        Fleets.Handle fleet;
        try {
            fleet = Fleets.start(config, engine.system(), engine.registry(), askTimeout);
        } catch (TlsSetupException e) {
            engine.shutdown().join();
            throw new ApiStartException("join the cluster (rund.cluster)", e);
        }
        JobServiceImpl jobs = new JobServiceImpl(fleet.fleet(), engine.system(), askTimeout);
        try {
            ApiServer api = ApiServer.start(engine.system(), apiSettings, service.serve(jobs, engine))
                    .toCompletableFuture().get();
            LOG.info("rund serves on {} (TLS 1.3, client certificates signed by {})", api.localAddress(),
                    apiSettings.tls().ca());
            Optional<MetricsServer> metrics = startMetrics(config, engine);
            return new Rund(engine, fleet, api, metrics);
        } catch (TlsSetupException | ExecutionException | IOException e) {
            stop(engine, fleet);
            throw new ApiStartException("serve on " + apiSettings.address(), e instanceof ExecutionException ? e.getCause() : e);
        } catch (InterruptedException e) {
            stop(engine, fleet);
            Thread.currentThread().interrupt();
            throw new ApiStartException("serve on " + apiSettings.address(), e);
        }
    }

    private static void stop(Daemon engine, Fleets.Handle fleet) {
        engine.shutdown().join();
        leave(fleet);
    }

    /** Ends this node's cluster membership (nothing standalone) once the engine has stopped. */
    private static void leave(Fleets.Handle fleet) {
        try {
            fleet.close();
        } catch (Exception e) {
            LOG.warn("Leaving the cluster failed: {}", e.getMessage());
        }
    }

    /** The engine: its actor system, registry, settings and log space. */
    public Daemon engine() {
        return engine;
    }

    /** Where the API listens (the port it got when configured with port 0). */
    public InetSocketAddress apiAddress() {
        return api.localAddress();
    }

    /** SIGTERM and SIGINT run the coordinated shutdown instead of the JVM's default exit with status 143. */
    public void stopOnSignals() {
        engine.stopOnSignals();
    }

    /** Runs the coordinated shutdown; completes when every job has ended (or been left, under keep mode) and the system has terminated. */
    public CompletableFuture<Done> shutdown() {
        return engine.shutdown();
    }

    /** Waits until the actor system has terminated, and says why it did. */
    public Ending awaitTermination() throws Exception {
        engine.awaitTermination();
        leave(fleet);
        return engine.registryFailure().isPresent() ? Ending.REGISTRY_ENDED : Ending.SHUT_DOWN;
    }

    /** The fleet the API serves through, and what ends this node's cluster membership (nothing standalone). */
    public Fleets.Handle fleet() {
        return fleet;
    }

    /**
     * The Prometheus endpoint, if rund.metrics.address is set (validated already: loopback unless allowed), closed by
     * the coordinated shutdown. Its figures are read through small suppliers: the registry by an ask, the log space
     * and the API door directly.
     */
    private static Optional<MetricsServer> startMetrics(Config config, Daemon engine) throws IOException {
        MetricsSettings settings = MetricsSettings.fromConfig(config.getConfig("rund.metrics"));
        if (settings.address().isEmpty()) {
            return Optional.empty();
        }
        ActorSystem<Void> system = engine.system();
        Optional<ConnectionDoor> door = ConnectionDoor.of(system);
        DaemonGauges gauges = new DaemonGauges(
                maxLive -> AskPattern.ask(engine.registry(), replyTo -> new JobRegistry.GetFigures(maxLive, replyTo),
                        settings.registryTimeout(), system.scheduler()),
                () -> engine.logs().retainedBytes() + engine.logs().earlierBytes() + engine.logs().jobFileBytes(),
                () -> engine.logs().followers(),
                () -> door.map(ConnectionDoor::handshakesRefused).orElse(0L),
                () -> door.map(ConnectionDoor::connectionsRefused).orElse(0L));
        MetricsServer server = MetricsServer.start(settings, gauges, system);
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "close-metrics", () -> {
            server.close();
            return CompletableFuture.completedFuture(Done.getInstance());
        });
        LOG.info("rund serves Prometheus metrics on http://{}:{}/metrics", settings.address().get().host(), server.port());
        return Optional.of(server);
    }

    /** The metrics endpoint's port, if it serves one. */
    public Optional<Integer> metricsPort() {
        return metrics.map(MetricsServer::port);
    }
}
