package io.rund.cgroup;

import java.util.LinkedHashMap;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;

/**
 * A change of a running job's limits ({@code rund update}): the limits to set, validated as a Start's are, and those
 * to lift back to the kernel's "max" (by their CLI names). Limits neither set nor lifted stay as they are; a cpu-max
 * quota set without a period keeps the period in force.
 */
public record LimitChange(Limits set, Set<String> lifted) {

    /** The limits that can be lifted, by CLI name, and the control file that takes "max" for each. */
    static final SequencedMap<String, String> LIFTABLE = liftable();

    public LimitChange {
        lifted = Set.copyOf(new TreeSet<>(lifted));
    }

    public static LimitChange setting(Limits set) {
        return new LimitChange(set, Set.of());
    }

    /** The names {@link #lifted} may hold. */
    public static Set<String> liftableNames() {
        return LIFTABLE.keySet();
    }

    /** Checks the values to set, the names to lift, that they do not overlap and that something changes. */
    public void validate() throws InvalidLimitException {
        set.validate();
        for (String name : lifted) {
            if (!LIFTABLE.containsKey(name)) {
                throw new InvalidLimitException("clear", "\"" + name + "\" is not a limit that can be cleared; one of " + String.join(", ", LIFTABLE.keySet()));
            }
            if (set.controllerByLimit().containsKey(name)) {
                throw new InvalidLimitException(name, "both set and cleared; give one");
            }
        }
        if (lifted.contains("cpu-max") && set.cpuMaxPeriodMicros().isPresent()) {
            throw new InvalidLimitException("cpu-max-period", "given while cpu-max is cleared");
        }
        if (set.isEmpty() && lifted.isEmpty()) {
            throw new InvalidLimitException("limits", "nothing to change: give a limit to set, one to clear, or a timeout");
        }
    }

    /** Each limit set or lifted → the controller that enforces it. */
    SequencedMap<String, String> controllerByLimit() {
        SequencedMap<String, String> needs = new LinkedHashMap<>(set.controllerByLimit());
        for (String name : lifted) {
            String file = LIFTABLE.get(name);
            if (file != null) {
                needs.put(name, file.substring(0, file.indexOf('.')));
            }
        }
        return needs;
    }

    private static SequencedMap<String, String> liftable() {
        SequencedMap<String, String> files = new LinkedHashMap<>();
        files.put("cpu-max", "cpu.max");
        files.put("memory-max", "memory.max");
        files.put("memory-high", "memory.high");
        files.put("memory-swap-max", "memory.swap.max");
        files.put("pids-max", "pids.max");
        return java.util.Collections.unmodifiableSequencedMap(files);
    }
}
