package io.rund.cluster;

import com.typesafe.config.Config;
import io.rund.auth.TlsSetupException;
import io.rund.job.JobRegistry;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;

import java.time.Duration;
import java.util.Map;

/**
 * Makes the fleet rund serves with: this host's alone when {@code rund.cluster.node-name} is not set (the cluster of
 * one, exactly as before cluster mode), else a cluster member's, whose cluster system is started here and ended
 * with {@link Handle#close()}. The one call site is the daemon's composition; tests use {@link LocalFleet}.
 */
public final class Fleets {

    private Fleets() {}

    /** The fleet, and what ends its cluster membership (nothing standalone). */
    public record Handle(Fleet fleet, AutoCloseable membership) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            membership.close();
        }
    }

    /** {@code askTimeout}: how long a request waits for a registry, local or remote (above the stop grace period). */
    public static Handle start(Config root, ActorSystem<?> engine, ActorRef<JobRegistry.Command> registry, Duration askTimeout)
            throws TlsSetupException {
        ClusterSettings settings = ClusterSettings.fromConfig(root.getConfig("rund"));
        LocalFleet local = new LocalFleet(registry, engine, askTimeout, settings.nodeName());
        if (!settings.enabled()) {
            return new Handle(local, () -> {});
        }
        ClusteredFleet fleet = new ClusteredFleet(local, askTimeout,
                Directory.alone(settings.nodeName(), settings.nodeIndex(), ClusterNode.address(settings), Map.of()));
        ClusterNode node = ClusterNode.start(settings, root, local, fleet::onDirectory);
        fleet.attach(node);
        return new Handle(fleet, node);
    }

    /** The cluster node behind a clustered fleet (for tests that end its membership), or null standalone. */
    public static ClusterNode nodeOf(Fleet fleet) {
        return fleet instanceof ClusteredFleet clustered ? clustered.node() : null;
    }
}
