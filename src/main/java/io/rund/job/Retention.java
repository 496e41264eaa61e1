package io.rund.job;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The finished jobs the registry keeps, in the order they ended, and which of them are due for removal: any beyond
 * {@code rund.jobs.max-retained} (oldest-finished first), and any that ended {@code rund.jobs.retention} ago. Each
 * question costs only the jobs it returns, so the registry asks it on a timer and after each end, never per request.
 * Owned by the {@link JobRegistry} actor and used only on its thread.
 */
final class Retention {

    /** A finished job to remove, and the setting that says so ("setting = value"). */
    record Due(String jobId, String reason) {}

    private final Duration retention;
    private final int maxRetained;
    /** Finished jobs by id, oldest-finished first, with the time each is kept from. */
    private final LinkedHashMap<String, Instant> finished = new LinkedHashMap<>();

    Retention(RegistrySettings settings) {
        this.retention = settings.retention();
        this.maxRetained = settings.maxRetained();
    }

    /** Job {@code jobId} ended at {@code at}: it is kept from then on, within the count. */
    void ended(String jobId, Instant at) {
        finished.putIfAbsent(jobId, at);
    }

    /** Job {@code jobId} left the registry another way (Delete, a byte budget): it counts no more. */
    void removed(String jobId) {
        finished.remove(jobId);
    }

    /** The finished jobs to remove at {@code now}, oldest-finished first; they count no more. */
    List<Due> due(Instant now) {
        List<Due> due = new ArrayList<>();
        Instant keptSince = now.minus(retention);
        Iterator<Map.Entry<String, Instant>> oldestFirst = finished.entrySet().iterator();
        while (oldestFirst.hasNext()) {
            Map.Entry<String, Instant> oldest = oldestFirst.next();
            boolean young = oldest.getValue().isAfter(keptSince);
            if (finished.size() <= maxRetained && young) {
                break;
            }
            due.add(new Due(oldest.getKey(), young ? "rund.jobs.max-retained = " + maxRetained : "rund.jobs.retention = " + retention));
            oldestFirst.remove();
        }
        return due;
    }

    /** When the oldest finished job kept now falls due, if there is one. */
    Optional<Instant> nextDue() {
        return finished.isEmpty() ? Optional.empty() : Optional.of(finished.firstEntry().getValue().plus(retention));
    }
}
