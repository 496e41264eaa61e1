package io.rund.metrics;

import com.typesafe.config.Config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;

/**
 * The {@code rund.metrics} block, read once and checked: the endpoint's address (empty: no endpoint), whether it may
 * listen on a non-loopback address (plain HTTP, no authentication), and the per-job series cap. A bad value is one
 * line naming the key ({@link io.rund.DaemonConfig#validate}).
 */
public record MetricsSettings(Optional<Address> address, boolean allowNonLoopback, int maxJobSeries,
                              Duration registryTimeout) {

    /** Where the endpoint listens. */
    public record Address(String host, int port) {}

    private static final int MAX_PORT = 65535;

    public static MetricsSettings fromConfig(Config metrics) {
        String text = metrics.getString("address").strip();
        boolean allowNonLoopback = metrics.getBoolean("allow-non-loopback");
        int maxJobSeries = metrics.getInt("max-job-series");
        if (maxJobSeries < 0) {
            throw new IllegalArgumentException("rund.metrics.max-job-series must be 0 or more, was " + maxJobSeries);
        }
        Duration registryTimeout = metrics.getDuration("registry-timeout");
        if (registryTimeout.isNegative() || registryTimeout.isZero()) {
            throw new IllegalArgumentException("rund.metrics.registry-timeout must be above 0, was " + registryTimeout);
        }
        Optional<Address> address = text.isEmpty() ? Optional.empty() : Optional.of(parse(text));
        if (address.isPresent() && !allowNonLoopback && !loopback(address.get().host())) {
            throw new IllegalArgumentException("rund.metrics.address " + text + " is not a loopback address: the metrics"
                    + " endpoint is plain HTTP without authentication; use 127.0.0.1:PORT, or set"
                    + " rund.metrics.allow-non-loopback = true (RUND_METRICS_ALLOW_NON_LOOPBACK) to expose it");
        }
        return new MetricsSettings(address, allowNonLoopback, maxJobSeries, registryTimeout);
    }

    private static Address parse(String text) {
        int colon = text.lastIndexOf(':');
        String where = "rund.metrics.address (--metrics-addr, RUND_METRICS_ADDR) ";
        if (colon < 0) {
            throw new IllegalArgumentException(where + "must be HOST:PORT, e.g. 127.0.0.1:9464");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + "must end in a port number (0-" + MAX_PORT + "), e.g. 127.0.0.1:9464");
        }
        if (port < 0 || port > MAX_PORT) {
            throw new IllegalArgumentException(where + "port must be 0-" + MAX_PORT + ", was " + port);
        }
        // No host (":9464") means every interface, which is not loopback.
        return new Address(host.isEmpty() ? "0.0.0.0" : host, port);
    }

    private static boolean loopback(String host) {
        try {
            for (InetAddress address : InetAddress.getAllByName(host)) {
                if (!address.isLoopbackAddress()) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("rund.metrics.address: cannot resolve host " + host);
        }
    }
}
