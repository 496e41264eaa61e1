package io.rund.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.BootstrapSetup;
import org.apache.pekko.actor.setup.ActorSystemSetup;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.apache.pekko.remote.artery.tcp.SSLEngineProviderSetup;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * This node's membership: a second actor system, "rund-cluster" (provider cluster, Artery over mutual TLS 1.3 with
 * node certificates, {@link NodeTls}), holding this node's {@link NodeGateway} and {@link NodeDirectory}; the engine
 * and its jobs live in another system and never depend on this one. When this system ends (this node was downed or
 * removed, or it could not join), it is made anew after {@code restart-delay} and joins again, so a partition or a
 * downing costs requests for a while, never a job. {@link #close()} ends it for good.
 */
public final class ClusterNode implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);
    static final String SYSTEM_NAME = "rund-cluster";
    private static final String PROTOCOL = "pekko";

    private final ClusterSettings settings;
    private final Config config;
    private final NodeTls tls;
    private final LocalFleet local;
    private final Consumer<Directory> publish;
    private final ScheduledExecutorService restarts = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "rund-cluster-restart");
        thread.setDaemon(true);
        return thread;
    });
    private final Map<Integer, Directory.Peer> known = new TreeMap<>();
    private volatile ActorSystem<Void> system;
    private volatile Map<String, SplitWatch.Split> splits = Map.of();
    private volatile CompletableFuture<Void> currentEnded = new CompletableFuture<>();
    private volatile boolean closed;

    private ClusterNode(ClusterSettings settings, Config config, NodeTls tls, LocalFleet local, Consumer<Directory> publish) {
        this.settings = settings;
        this.config = config;
        this.tls = tls;
        this.local = local;
        this.publish = directory -> {
            synchronized (known) {
                known.putAll(directory.peers());
            }
            publish.accept(directory);
        };
    }

    /**
     * Starts this node's cluster system and joins the seeds; {@code root} is the daemon's whole configuration
     * (rund.admin-sans is compared at join; {@code rund.cluster.system} layers Pekko settings over the generated ones).
     */
    public static ClusterNode start(ClusterSettings settings, Config root, LocalFleet local, Consumer<Directory> publish)
            throws TlsSetupException {
        NodeTls tls = NodeTls.create(new TlsFiles(settings.ca(), settings.cert(), settings.key()), address(settings),
                settings.refusedPeerLogInterval());
        ClusterNode node = new ClusterNode(settings, systemConfig(settings, root), tls, local, publish);
        node.publish.accept(Directory.alone(settings.nodeName(), settings.nodeIndex(), address(settings), Map.of()));
        node.launch();
        return node;
    }

    /** The current cluster system (a new one after a restart): what crosses the wire must belong to it. */
    public ActorSystem<Void> system() {
        return system;
    }

    public ClusterSettings settings() {
        return settings;
    }

    /** The configured seeds last found Up in another cluster than this node's, by seed (empty: no split seen). */
    Map<String, SplitWatch.Split> splits() {
        return splits;
    }

    private void launch() {
        if (closed) {
            return;
        }
        try {
            ActorSystem<Void> created = ActorSystem.create(guardian(), SYSTEM_NAME,
                    ActorSystemSetup.create(BootstrapSetup.create(config)).withSetup(SSLEngineProviderSetup.create(ignored -> tls)));
            system = created;
            // Artery over TLS may take long to finish terminating (a connection to a peer that is cut off): the node
            // goes on once its shutdown reaches the last phase, a new system retries its port until the old one lets
            // go, and an old one that does not is made to (ArteryPortRelease).
            CompletableFuture<Void> ended = new CompletableFuture<>();
            currentEnded = ended;
            ended.thenRun(() -> onTerminated(created));
            created.getWhenTerminated().thenRun(() -> ended.complete(null));
            CoordinatedShutdown.get(created).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "rund-relaunch",
                    () -> {
                        ended.complete(null);
                        if (!closed) {
                            ArteryPortRelease.schedule(created, restarts, settings.nodeName());
                        }
                        return CompletableFuture.completedFuture(Done.done());
                    });
            if (closed) {
                created.terminate();
            }
        } catch (RuntimeException e) {
            LOG.warn("Cluster node {} could not start its cluster system on {}: {}; trying again in {}", settings.nodeName(),
                    address(settings), e.getMessage(), settings.restartDelay());
            scheduleLaunch();
        }
    }

    private void onTerminated(ActorSystem<Void> ended) {
        Map<Integer, Directory.Peer> peers;
        synchronized (known) {
            peers = new TreeMap<>(known);
        }
        publish.accept(Directory.alone(settings.nodeName(), settings.nodeIndex(), address(settings), peers));
        if (!closed) {
            LOG.warn("Cluster node {}: its cluster system ended (downed, removed or partitioned away); its jobs run on, "
                    + "and it joins again in {}", settings.nodeName(), settings.restartDelay());
            scheduleLaunch();
        }
    }

    private void scheduleLaunch() {
        if (!closed) {
            restarts.schedule(this::launch, settings.restartDelay().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private Behavior<Void> guardian() {
        Map<Integer, Directory.Peer> peers;
        synchronized (known) {
            peers = new TreeMap<>(known);
        }
        return Behaviors.setup(context -> {
            context.spawn(NodeGateway.create(local, Materializer.createMaterializer(context)), "gateway");
            context.spawn(NodeDirectory.create(settings.nodeName(), settings.nodeIndex(), address(settings), peers, publish),
                    "directory");
            context.spawn(SplitWatch.create(settings.nodeName(), settings.nodeIndex(), settings.seeds(),
                    settings.splitCheckInterval(), found -> splits = found), SplitWatch.NAME);
            List<Address> seeds = new ArrayList<>();
            for (String seed : settings.seeds()) {
                String[] hostPort = ClusterSettings.hostPort(seed, "seeds");
                seeds.add(new Address(PROTOCOL, SYSTEM_NAME, hostPort[0], Integer.parseInt(hostPort[1])));
            }
            Cluster cluster = Cluster.get(context.getSystem());
            if (seeds.isEmpty()) {
                seeds.add(cluster.selfMember().address());
            }
            cluster.manager().tell(new JoinSeedNodes(seeds));
            return Behaviors.empty();
        });
    }

    /** Leaves the cluster and ends the cluster system for good; the engine is untouched. */
    @Override
    public void close() {
        closed = true;
        restarts.shutdownNow();
        ActorSystem<Void> current = system;
        if (current != null) {
            current.terminate();
            current.getWhenTerminated().toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).exceptionally(e -> null).join();
        }
    }

    /** Ends the current cluster system as a downing would (for tests and operators): it is made anew and rejoins. */
    public CompletionStage<Void> restartMembership() {
        CompletableFuture<Void> ended = currentEnded;
        system.terminate();
        return ended;
    }

    static String address(ClusterSettings settings) {
        return settings.host() + ":" + settings.port();
    }

    /** The cluster system's configuration: generated from rund.cluster, over the daemon's, under rund.cluster.system. */
    static Config systemConfig(ClusterSettings settings, Config root) {
        String frame = Long.toString(settings.maximumFrameSize());
        Map<String, Object> values = new TreeMap<>();
        values.put("pekko.actor.provider", "cluster");
        values.put("pekko.actor.serialization-bindings.\"" + NodeMessage.class.getName() + "\"", "jackson-cbor");
        values.put("pekko.remote.artery.transport", "tls-tcp");
        values.put("pekko.remote.artery.canonical.hostname", settings.host());
        values.put("pekko.remote.artery.canonical.port", settings.port());
        values.put("pekko.remote.artery.advanced.maximum-frame-size", frame);
        values.put("pekko.remote.artery.advanced.maximum-large-frame-size", frame);
        // Fewer thread hand-offs per message between nodes (a routed request makes about 26 with Pekko's defaults):
        // no write-coalescing round trip to the TCP actor before each write (Artery's own copy of the materializer
        // settings: the root is resolved already), the TCP actors in Artery's pool, that pool half the cores down to
        // one thread (Pekko's default floor is two; one on a 2-core host runs a chain of hops in it back to back),
        // and one inbound lane (one asynchronous boundary less). Measured: a routed Status 1.06 -> 0.65 ms over a local
        // one; cross-node follow not slower (docs/BENCHMARKS.md, cluster).
        values.put("pekko.remote.artery.advanced.materializer.io.tcp.coalesce-writes", 0);
        values.put("pekko.io.tcp.worker-dispatcher", "pekko.remote.default-remote-dispatcher");
        values.put("pekko.remote.default-remote-dispatcher.fork-join-executor.parallelism-min", 1);
        values.put("pekko.remote.artery.advanced.inbound-lanes", 1);
        values.put("pekko.cluster.roles", List.of(NodeDirectory.NAME_ROLE + settings.nodeName(),
                NodeDirectory.INDEX_ROLE + settings.nodeIndex()));
        values.put("pekko.cluster.failure-detector.heartbeat-interval", millis(settings.heartbeatInterval()));
        values.put("pekko.cluster.failure-detector.acceptable-heartbeat-pause", millis(settings.acceptableHeartbeatPause()));
        values.put("pekko.cluster.downing-provider-class", "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider");
        values.put("pekko.cluster.split-brain-resolver.active-strategy", "keep-majority");
        values.put("pekko.cluster.split-brain-resolver.stable-after", millis(settings.downUnreachableAfter()));
        values.put("pekko.cluster.configuration-compatibility-check.checkers.rund-admin-sans", AdminSansCheck.class.getName());
        values.put("pekko.cluster.jmx.enabled", "off");
        values.put("pekko.coordinated-shutdown.exit-jvm", "off");
        values.put("pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off");
        values.put(AdminSansCheck.KEY, String.join(",", new TreeSet<>(adminSans(root))));
        Config generated = ConfigFactory.parseMap(values, "rund.cluster");
        Config overrides = root.hasPath("rund.cluster.system") ? root.getConfig("rund.cluster.system") : ConfigFactory.empty();
        return overrides.withFallback(generated).withFallback(root);
    }

    private static List<String> adminSans(Config root) {
        return switch (root.getValue("rund.admin-sans").valueType()) {
            case LIST -> root.getStringList("rund.admin-sans");
            default -> List.of(root.getString("rund.admin-sans").split(",")).stream().map(String::trim)
                    .filter(san -> !san.isEmpty()).toList();
        };
    }

    private static String millis(Duration duration) {
        return duration.toMillis() + "ms";
    }
}
