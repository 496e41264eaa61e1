package io.rund.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The {@code rund.cluster} settings, read once. Without a node name rund serves alone and nothing else here is used
 * (the index is then 0: job ids are fully random, as before cluster mode). With one, the index, the address, the node
 * certificate and the seeds are checked here, so that a bad value ends start in one line naming its key.
 *
 * @param nodeName      this node's unique name; empty: standalone
 * @param nodeIndex     1-65535 in a cluster, written into every job id this node mints; 0 standalone
 * @param host          the node-to-node address's host; {@code port} its port
 * @param seeds         HOST:PORT of the seed nodes (empty: this node starts a cluster by itself)
 * @param cert          the node certificate; {@code key} its key; {@code ca} the CA that signs node certificates
 * @param refusedPeerLogInterval at most one line per interval for peers refused at the cluster port
 * @param splitCheckInterval     how often the configured seeds are asked whether they are in this node's cluster
 */
public record ClusterSettings(String nodeName, int nodeIndex, String host, int port, List<String> seeds, Path cert,
                              Path key, Path ca, Duration heartbeatInterval, Duration acceptableHeartbeatPause,
                              Duration downUnreachableAfter, Duration askTimeout, long maximumFrameSize,
                              Duration restartDelay, Duration refusedPeerLogInterval, Duration splitCheckInterval) {

    public static final int MAX_NODE_INDEX = 0xFFFF;
    private static final String KEY = "rund.cluster.";

    public ClusterSettings {
        seeds = List.copyOf(seeds);
        if (!nodeName.isEmpty()) {
            if (!nodeName.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
                throw new IllegalArgumentException(KEY + "node-name (RUND_NODE_NAME) must be 1-63 letters, digits, '.', '_' "
                        + "or '-', starting with a letter or digit");
            }
            if (nodeIndex < 1 || nodeIndex > MAX_NODE_INDEX) {
                throw new IllegalArgumentException(KEY + "node-index (RUND_NODE_INDEX) must be 1-" + MAX_NODE_INDEX
                        + " in a cluster (unique and stable per host), was " + nodeIndex);
            }
            if (port < 1 || port > MAX_NODE_INDEX) {
                throw new IllegalArgumentException(KEY + "address (RUND_CLUSTER_ADDR) must be HOST:PORT with a port 1-65535");
            }
            for (String seed : seeds) {
                hostPort(seed, "seeds (RUND_CLUSTER_SEEDS)");
            }
        }
        if (maximumFrameSize < 2L * 1024 * 1024) {
            throw new IllegalArgumentException(KEY + "maximum-frame-size must be at least 2 MiB (a Start carries up to"
                    + " 1 MiB of arguments), was " + maximumFrameSize);
        }
        for (Duration d : List.of(heartbeatInterval, acceptableHeartbeatPause, downUnreachableAfter, askTimeout, restartDelay,
                refusedPeerLogInterval, splitCheckInterval)) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(KEY + " durations (heartbeat-interval, acceptable-heartbeat-pause, "
                        + "down-unreachable-after, ask-timeout, restart-delay, refused-peer-log-interval, "
                        + "split-check-interval) must be > 0");
            }
        }
    }

    /** Whether this node joins a cluster ({@code node-name} set) or serves alone. */
    public boolean enabled() {
        return !nodeName.isEmpty();
    }

    /** The index job ids are minted with: this node's in a cluster, 0 (fully random ids) standalone. */
    public int mintingIndex() {
        return enabled() ? nodeIndex : 0;
    }

    /** Reads {@code rund.cluster} from the {@code rund} block; relative certificate paths stay relative. */
    public static ClusterSettings fromConfig(Config rund) {
        Config cluster = rund.getConfig("cluster");
        String name = cluster.getString("node-name").trim();
        String address = cluster.getString("address").trim();
        String host = "";
        int port = 0;
        if (!name.isEmpty()) {
            String[] hp = hostPort(address, "address (RUND_CLUSTER_ADDR)");
            host = hp[0];
            port = Integer.parseInt(hp[1]);
        }
        String ca = cluster.getString("ca").trim();
        return new ClusterSettings(name, name.isEmpty() ? 0 : cluster.getInt("node-index"), host, port,
                seeds(cluster), Path.of(cluster.getString("cert")), Path.of(cluster.getString("key")),
                Path.of(ca.isEmpty() ? rund.getString("api.ca") : ca),
                cluster.getDuration("heartbeat-interval"), cluster.getDuration("acceptable-heartbeat-pause"),
                cluster.getDuration("down-unreachable-after"), cluster.getDuration("ask-timeout"),
                cluster.getBytes("maximum-frame-size"), cluster.getDuration("restart-delay"),
                cluster.getDuration("refused-peer-log-interval"), cluster.getDuration("split-check-interval"));
    }

    private static List<String> seeds(Config cluster) {
        List<String> raw = cluster.getValue("seeds").valueType() == ConfigValueType.LIST
                ? cluster.getStringList("seeds")
                : Arrays.asList(cluster.getString("seeds").split(","));
        return raw.stream().map(String::trim).filter(seed -> !seed.isEmpty()).toList();
    }

    /** {@code [host, port]} of a HOST:PORT (an IPv6 host in brackets), or an error naming the key. */
    static String[] hostPort(String value, String key) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException(KEY + key + " must be HOST:PORT, was " + quote(value));
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            int port = Integer.parseInt(value.substring(colon + 1));
            if (port < 1 || port > MAX_NODE_INDEX) {
                throw new NumberFormatException();
            }
            return new String[] {host, Integer.toString(port)};
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(KEY + key + " must be HOST:PORT with a port 1-65535, was " + quote(value));
        }
    }

    private static String quote(String value) {
        return "\"" + (value.length() > 80 ? value.substring(0, 80) + "..." : value) + "\"";
    }

    /** The node name as peers see it in a job's status: empty standalone. */
    public Optional<String> name() {
        return enabled() ? Optional.of(nodeName) : Optional.empty();
    }
}
