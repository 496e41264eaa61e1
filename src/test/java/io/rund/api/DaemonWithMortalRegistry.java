package io.rund.api;

import com.typesafe.config.Config;
import io.rund.DaemonConfig;
import io.rund.Rund;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.Kill;
import org.apache.pekko.actor.typed.javadsl.Adapter;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * rund as {@code rund serve} runs it (the layered configuration, validated, then {@link Rund}; the exit status serve
 * gives its ending), in a JVM of its own for {@link RegistryFailureTest}, plus one thing serve lacks: the line
 * {@value #KILL_REGISTRY} on stdin sends the job registry a classic {@link Kill}, which fails the actor as a bug in
 * it would, from outside rund's code (no hook in it).
 */
public final class DaemonWithMortalRegistry {

    static final String KILL_REGISTRY = "KILL-REGISTRY";

    private DaemonWithMortalRegistry() {}

    public static void main(String[] args) throws Exception {
        Config config = DaemonConfig.load(Optional.empty());
        DaemonConfig.validate(config);
        Rund rund = Rund.start(config);
        rund.stopOnSignals();
        Thread commands = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.equals(KILL_REGISTRY)) {
                        Adapter.toClassic(rund.engine().registry()).tell(Kill.getInstance(), ActorRef.noSender());
                    }
                }
            } catch (java.io.IOException e) {
                System.err.println("cannot read commands: " + e.getMessage());
            }
        }, "registry-killer");
        commands.setDaemon(true);
        commands.start();
        System.exit(rund.awaitTermination() == Rund.Ending.SHUT_DOWN ? 0 : 1);
    }
}
