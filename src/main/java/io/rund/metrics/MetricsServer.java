package io.rund.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.rund.cgroup.UsageSampler;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;

import java.io.IOException;
import java.time.Clock;

/**
 * rund's Prometheus endpoint (opt-in: rund.metrics.address): the Prometheus Java client's registry and its small
 * HTTP server (the JDK's, on its own thread, so a scrape never runs on an actor), serving /metrics as text. Holds
 * the process figures (open fds among them), the job event metrics and the figures read at scrape time.
 */
public final class MetricsServer implements AutoCloseable {

    private final HTTPServer server;

    private MetricsServer(HTTPServer server) {
        this.server = server;
    }

    /** Starts the endpoint at {@code settings}' address, which must be set. */
    public static MetricsServer start(MetricsSettings settings, DaemonGauges gauges, ActorSystem<?> system) throws IOException {
        MetricsSettings.Address address = settings.address().orElseThrow(
                () -> new IllegalArgumentException("rund.metrics.address is not set"));
        PrometheusRegistry registry = new PrometheusRegistry();
        ProcessMetrics.builder().register(registry);
        JobEventMetrics events = new JobEventMetrics(registry);
        system.systemActorOf(events.behavior(), "rund-metrics-events", Props.empty());
        registry.register(new JobFiguresCollector(gauges, settings.maxJobSeries(), settings.registryTimeout(),
                new UsageSampler(Clock.systemUTC())));
        HTTPServer server = HTTPServer.builder()
                .hostname(address.host())
                .port(address.port())
                .registry(registry)
                .buildAndStart();
        return new MetricsServer(server);
    }

    /** The port it listens on (the one it got when configured with port 0). */
    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.close();
    }
}
