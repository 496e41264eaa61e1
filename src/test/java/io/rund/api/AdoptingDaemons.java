package io.rund.api;

import java.util.Map;

/**
 * The adoption tests' two daemons: a first one, killed with kill -9 while its jobs run, and the next one, started on
 * the same state directory and cgroup root, which adopts them. Closing closes whichever is the current one (the first
 * if the next never started), so a failing test leaves no daemon and no job behind.
 */
final class AdoptingDaemons implements AutoCloseable {

    private final Map<String, String> env;
    private DaemonProcess current;

    private AdoptingDaemons(Map<String, String> env, DaemonProcess first) {
        this.env = env;
        this.current = first;
    }

    static AdoptingDaemons start(Map<String, String> env) throws Exception {
        return new AdoptingDaemons(env, DaemonProcess.start(env));
    }

    /** The first daemon until {@link #killAndAdopt()}, the next one after it. */
    DaemonProcess current() {
        return current;
    }

    /** Kills the current daemon with kill -9 and starts the next one, which adopts its jobs; returns the next one. */
    DaemonProcess killAndAdopt() throws Exception {
        current.killHard();
        current = DaemonProcess.restartAfter(current, env);
        return current;
    }

    @Override
    public void close() throws Exception {
        current.close();
    }
}
