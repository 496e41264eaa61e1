package io.rund.cgroup;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.SequencedMap;
import java.util.TreeSet;

/**
 * A limit was asked for whose cgroup v2 controller this host does not offer to rund's subtree.
 * rund never drops a limit silently: the job is refused, naming the controller and what the host
 * does offer, e.g. "limit memory-max needs the memory controller; this host's cgroup v2 subtree
 * offers: hugetlb".
 */
public final class MissingControllerException extends Exception {
    private final Set<String> missingControllers;
    private final Set<String> offeredControllers;

    /**
     * @param missingByLimit limit name → controller it needs, only for the missing ones, in the
     *                       order they should be reported
     * @param offered        the controllers jobs can use
     */
    MissingControllerException(SequencedMap<String, String> missingByLimit, Set<String> offered) {
        super(message(missingByLimit, offered));
        this.missingControllers = Set.copyOf(missingByLimit.values());
        this.offeredControllers = Set.copyOf(offered);
    }

    /** The controllers the refused limits need and the subtree lacks. */
    public Set<String> missingControllers() {
        return missingControllers;
    }

    /** The controllers rund's subtree does offer to jobs. */
    public Set<String> offeredControllers() {
        return offeredControllers;
    }

    private static String message(SequencedMap<String, String> missingByLimit, Set<String> offered) {
        SequencedMap<String, List<String>> limitsByController = new LinkedHashMap<>();
        missingByLimit.forEach((limit, controller) ->
                limitsByController.computeIfAbsent(controller, c -> new ArrayList<>()).add(limit));
        StringBuilder text = new StringBuilder();
        limitsByController.forEach((controller, limits) -> text.append(text.isEmpty() ? "" : "; ")
                .append(limits.size() == 1 ? "limit " : "limits ").append(String.join(", ", limits))
                .append(limits.size() == 1 ? " needs the " : " need the ").append(controller).append(" controller"));
        String offers = offered.isEmpty() ? "none" : String.join(", ", new TreeSet<>(offered));
        return text.append("; this host's cgroup v2 subtree offers: ").append(offers).toString();
    }
}
