package io.rund.job;

import io.rund.linux.AccountIds;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;

/**
 * Hands out the ids of a range to jobs, one each, never the same id to two jobs that run at the same time, and
 * the least recently used first (an id never used counts as the oldest): whatever a job left behind under its
 * uid meets the next job with that uid as late as the range allows. Ids that the host's account files name are
 * skipped, as systemd's DynamicUser does. Thread-safe: jobs start and end on several threads at once.
 */
final class IdentityPool {

    /** (uid_t) -1 in 16 bits: some tools still read it as "no id". */
    private static final int SIXTEEN_BIT_INVALID = 65535;

    /** Every id of the range is held by a running job (or named by an account). */
    static final class Exhausted extends Exception {
        Exhausted(String message) {
            super(message, null, false, false);
        }
    }

    private final int first;
    private final int last;
    private final AccountIds accounts;
    /** The next id never handed out yet; past {@link #last} once all have been. */
    private long nextFresh;
    /** Released ids, least recently released first. */
    private final ArrayDeque<Integer> released = new ArrayDeque<>();
    private final Set<Integer> held = new HashSet<>();

    IdentityPool(int first, int last, AccountIds accounts) {
        this.first = first;
        this.last = last;
        this.accounts = accounts;
        this.nextFresh = first;
    }

    /** An id no running job holds and no account names; the caller must {@link #release} it. */
    synchronized int acquire() throws Exhausted, IOException {
        Set<Integer> named = accounts.inUse();
        while (nextFresh <= last) {
            int id = (int) nextFresh++;
            if (id != SIXTEEN_BIT_INVALID && !named.contains(id) && !held.contains(id)) {
                return hold(id);
            }
        }
        for (int tries = released.size(); tries > 0; tries--) {
            int id = released.pollFirst();
            if (!named.contains(id)) {
                return hold(id);
            }
            released.addLast(id); // an account took it meanwhile; kept in case the account goes again
        }
        throw new Exhausted("every one of the " + ((long) last - first + 1) + " job identities (ids " + first + "-"
                + last + " of rund.jobs.identities, less those " + accounts + " name) is held by a running job ("
                + held.size() + " now); wait for a job to end, or widen the range");
    }

    /**
     * Holds {@code id} for a job an earlier daemon started, which still runs as it (adopted at start, before any
     * new job leases an id). False if it is outside the range or held already.
     */
    synchronized boolean holdAdopted(int id) {
        if (id < first || id > last || held.contains(id)) {
            return false;
        }
        released.remove(id);
        held.add(id);
        return true;
    }

    /** Gives {@code id} back once its job has ended and its cgroup is empty and removed. */
    synchronized void release(int id) {
        if (!held.remove(id)) {
            throw new IllegalStateException("job identity " + id + " released but not held");
        }
        released.addLast(id);
    }

    /** How many ids running jobs hold. */
    synchronized int held() {
        return held.size();
    }

    private int hold(int id) {
        held.add(id);
        return id;
    }
}
