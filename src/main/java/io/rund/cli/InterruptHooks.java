package io.rund.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * What a command does when its user interrupts it (Ctrl-C, SIGTERM from a CI runner): in a JVM of its own, a shutdown
 * hook; in the CLI agent ({@link CliAgent}), which serves many commands and does not exit, the hooks of the command's
 * own session, run when its front end forwards the signal.
 */
final class InterruptHooks {

    /** The hooks of the agent session this thread runs a command for; unset in a command's own JVM. */
    private static final ThreadLocal<List<Thread>> SESSION = new ThreadLocal<>();

    private InterruptHooks() {}

    static void add(Thread hook) {
        List<Thread> session = SESSION.get();
        if (session == null) {
            Runtime.getRuntime().addShutdownHook(hook);
            return;
        }
        synchronized (session) {
            session.add(hook);
        }
    }

    static void remove(Thread hook) {
        List<Thread> session = SESSION.get();
        if (session == null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running or about to: it does its work.
            }
            return;
        }
        synchronized (session) {
            session.remove(hook);
        }
    }

    /** Makes this thread's commands register their hooks in {@code hooks} (the agent's command thread). */
    static void useSession(List<Thread> hooks) {
        SESSION.set(hooks);
    }

    /** Runs and empties {@code hooks}, each to its end, as the JVM runs shutdown hooks. */
    static void runAll(List<Thread> hooks) throws InterruptedException {
        List<Thread> toRun;
        synchronized (hooks) {
            toRun = new ArrayList<>(hooks);
            hooks.clear();
        }
        for (Thread hook : toRun) {
            hook.start();
        }
        for (Thread hook : toRun) {
            hook.join();
        }
    }
}
