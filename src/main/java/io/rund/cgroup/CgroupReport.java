package io.rund.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;

/**
 * What this host's cgroups offer rund, read without changing anything: the cgroup mode, the subtree rund would
 * own, the controllers it could give jobs, and so which limits would work. The first thing to look at when a
 * limit is refused ({@code rund doctor}).
 *
 * @param mode          V2 (a pure unified hierarchy), HYBRID (cgroup2 beside v1 hierarchies) or V1 (no cgroup2)
 * @param mount         the cgroup2 mount, if there is one
 * @param v1Controllers controllers bound to a v1 hierarchy (unusable in cgroup2 while they are)
 * @param subtree       where rund would put job cgroups with this configuration
 * @param subtreeExists whether that directory exists already (rund creates it on start)
 * @param delegatable   controllers rund can enable for its jobs
 */
public record CgroupReport(Mode mode, Optional<Path> mount, Set<String> v1Controllers, Optional<Path> subtree,
                           boolean subtreeExists, Set<String> delegatable) {

    public enum Mode { V2, HYBRID, V1 }

    /** Each limit, by its CLI name, and the controller that enforces it. */
    public static final SequencedMap<String, String> CONTROLLER_BY_LIMIT = controllerByLimit();

    private static final Path PROC_CGROUPS = Path.of("/proc/cgroups");
    /** cgroup v1 calls the io controller blkio. */
    private static final Map<String, String> V1_NAMES = Map.of("io", "blkio");

    public static CgroupReport inspect(Optional<Path> configuredRoot) throws IOException {
        Set<String> v1 = controllersBoundToV1();
        CgroupLocation location;
        try {
            location = CgroupLocation.ofCurrentProcess();
        } catch (CgroupException e) {
            return new CgroupReport(Mode.V1, Optional.empty(), v1, Optional.empty(), false, Set.of());
        }
        Path mount = location.mount();
        CgroupManager.Placement placement = CgroupManager.placement(location, configuredRoot);
        Path subtree = placement.subtree();
        Path top = placement.top();
        Set<String> offered = new TreeSet<>(CgroupManager.words(ControlFile.in(top, "cgroup.controllers").read()));
        return new CgroupReport(v1.isEmpty() ? Mode.V2 : Mode.HYBRID, Optional.of(mount), v1, Optional.of(subtree),
                Files.isDirectory(subtree), offered);
    }

    /** Whether a limit (by its CLI name) would be applied rather than refused. */
    public boolean limitWorks(String limit) {
        return delegatable.contains(CONTROLLER_BY_LIMIT.get(limit));
    }

    /** Why a controller cannot be used by rund's jobs, or empty if it can. */
    public Optional<String> whyUnavailable(String controller) {
        if (delegatable.contains(controller)) {
            return Optional.empty();
        }
        String v1Name = V1_NAMES.getOrDefault(controller, controller);
        if (v1Controllers.contains(v1Name)) {
            return Optional.of(controller + " is bound to a cgroup v1 hierarchy"
                    + (v1Name.equals(controller) ? "" : " (as " + v1Name + ")"));
        }
        return Optional.of(controller + " is not offered to rund's subtree (not in cgroup.controllers)");
    }

    /** Controllers bound to a v1 hierarchy: /proc/cgroups lists a non-zero hierarchy id for them. */
    private static Set<String> controllersBoundToV1() throws IOException {
        Set<String> bound = new TreeSet<>();
        for (String line : Files.readAllLines(PROC_CGROUPS)) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && !line.startsWith("#") && !f[1].equals("0")) {
                bound.add(f[0]);
            }
        }
        return bound;
    }

    private static SequencedMap<String, String> controllerByLimit() {
        SequencedMap<String, String> map = new LinkedHashMap<>();
        for (String limit : List.of("cpu-max", "cpus")) {
            map.put(limit, "cpu");
        }
        for (String limit : List.of("memory-max", "memory-swap-max")) {
            map.put(limit, "memory");
        }
        for (String limit : List.of("io-rbps", "io-wbps", "io-riops", "io-wiops")) {
            map.put(limit, "io");
        }
        map.put("pids-max", "pids");
        return map;
    }
}
