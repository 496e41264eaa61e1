package io.rund.resctrl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What Intel RDT allocation this host offers, read once: the CPU flags (/proc/cpuinfo), where resctrl is mounted
 * (/proc/self/mountinfo, fstype resctrl; rund never mounts it) and, when it is, the limits its info/ directory gives
 * for L3 cache masks and memory-bandwidth percentages, with the cache domain ids of the root group's schemata.
 */
public record RdtHost(Set<String> cpuFlags, Optional<Path> mount, Optional<Cache> l3, Optional<Bandwidth> mb,
                      boolean bandwidthInMBps) {

    /** The CPU flags that say the processor can allocate (rdt_a), partition L3 (cat_l3) and throttle bandwidth (mba). */
    public static final List<String> RDT_FLAGS = List.of("rdt_a", "cat_l3", "mba");
    static final Path PROC_CPUINFO = Path.of("/proc/cpuinfo");
    static final Path PROC_SELF_MOUNTINFO = Path.of("/proc/self/mountinfo");
    private static final String RESCTRL_FSTYPE = "resctrl";
    private static final String MBPS_MOUNT_OPTION = "mba_MBps";

    /** L3 cache allocation: the full mask, the fewest bits a mask may have, whether holes are allowed, the domains. */
    public record Cache(long cbmMask, int minCbmBits, int numClosids, boolean sparseMasks, SortedSet<Integer> domains) {
        public Cache {
            domains = Collections.unmodifiableSortedSet(new TreeSet<>(domains));
        }
    }

    /** Memory-bandwidth allocation: the lowest percentage, the step the kernel rounds up to, the domains. */
    public record Bandwidth(int minBandwidth, int granularity, int numClosids, SortedSet<Integer> domains) {
        public Bandwidth {
            domains = Collections.unmodifiableSortedSet(new TreeSet<>(domains));
        }
    }

    public RdtHost {
        cpuFlags = Set.copyOf(cpuFlags);
    }

    /** This host, as it is now. */
    public static RdtHost ofThisHost() throws IOException {
        List<String> mountinfo = Files.readAllLines(PROC_SELF_MOUNTINFO);
        Set<String> flags = cpuFlags(Files.exists(PROC_CPUINFO) ? Files.readAllLines(PROC_CPUINFO) : List.of());
        Optional<Path> mount = resctrlMount(mountinfo);
        if (mount.isEmpty()) {
            return new RdtHost(flags, Optional.empty(), Optional.empty(), Optional.empty(), false);
        }
        return at(mount.get(), flags, mountOptions(mountinfo, mount.get()).contains(MBPS_MOUNT_OPTION));
    }

    /** A resctrl tree mounted at {@code root} (or laid out there as the kernel does), read now. */
    public static RdtHost at(Path root, Set<String> flags, boolean bandwidthInMBps) throws IOException {
        try {
            return read(root, flags, bandwidthInMBps);
        } catch (NumberFormatException e) {
            throw new IOException("resctrl at " + root + " has a file rund cannot read as a number: " + e.getMessage(), e);
        }
    }

    private static RdtHost read(Path root, Set<String> flags, boolean bandwidthInMBps) throws IOException {
        List<String> schemata = Files.readAllLines(root.resolve("schemata"));
        Optional<Cache> l3 = Optional.empty();
        Path l3Info = root.resolve("info/L3");
        if (Files.isDirectory(l3Info)) {
            Path sparse = l3Info.resolve("sparse_masks");
            l3 = Optional.of(new Cache(Long.parseLong(read(l3Info.resolve("cbm_mask")), 16),
                    Integer.parseInt(read(l3Info.resolve("min_cbm_bits"))),
                    Integer.parseInt(read(l3Info.resolve("num_closids"))),
                    Files.exists(sparse) && read(sparse).equals("1"), domainsOf(schemata, "L3")));
        }
        Optional<Bandwidth> mb = Optional.empty();
        Path mbInfo = root.resolve("info/MB");
        if (Files.isDirectory(mbInfo)) {
            mb = Optional.of(new Bandwidth(Integer.parseInt(read(mbInfo.resolve("min_bandwidth"))),
                    Integer.parseInt(read(mbInfo.resolve("bandwidth_gran"))),
                    Integer.parseInt(read(mbInfo.resolve("num_closids"))), domainsOf(schemata, "MB")));
        }
        return new RdtHost(flags, Optional.of(root), l3, mb, bandwidthInMBps);
    }

    /**
     * Why this host cannot give a job what it asks for, or empty if it can: one line naming what is missing.
     *
     * @param wantsL3 the job asks for an L3 cache mask
     * @param wantsMb the job asks for a memory-bandwidth percentage
     */
    public Optional<RdtException> missing(boolean wantsL3, boolean wantsMb) {
        if (!wantsL3 && !wantsMb) {
            return Optional.empty();
        }
        String field = wantsL3 ? "l3-cache-mask" : "memory-bandwidth";
        if (mount.isEmpty()) {
            boolean cpuCan = cpuFlags.contains("rdt_a") && (!wantsL3 || cpuFlags.contains("cat_l3"))
                    && (!wantsMb || cpuFlags.contains("mba"));
            String needs = "Intel RDT needs CPU flags " + (wantsL3 ? "cat_l3" : "mba") + " (rdt_a) and /sys/fs/resctrl mounted";
            return Optional.of(new RdtException(RdtException.Kind.UNSUPPORTED, field, "this host has no resctrl: "
                    + needs + (cpuCan ? " (the CPU has the flags: mount -t resctrl resctrl /sys/fs/resctrl)"
                    : " (this CPU's /proc/cpuinfo flags lack " + String.join(", ", lacking(wantsL3, wantsMb)) + ")")));
        }
        if (wantsL3 && l3.isEmpty()) {
            return Optional.of(new RdtException(RdtException.Kind.UNSUPPORTED, "l3-cache-mask", "this host's resctrl ("
                    + mount.get() + ") offers no L3 cache allocation (no info/L3: CPU flag cat_l3 missing, or resctrl"
                    + " mounted with -o cdp)"));
        }
        if (wantsMb && mb.isEmpty()) {
            return Optional.of(new RdtException(RdtException.Kind.UNSUPPORTED, "memory-bandwidth", "this host's resctrl ("
                    + mount.get() + ") offers no memory-bandwidth allocation (no info/MB: CPU flag mba missing)"));
        }
        if (wantsMb && bandwidthInMBps) {
            return Optional.of(new RdtException(RdtException.Kind.UNSUPPORTED, "memory-bandwidth", "this host's resctrl ("
                    + mount.get() + ") is mounted with -o mba_MBps: bandwidth is in MB/s there, not a percentage"));
        }
        return Optional.empty();
    }

    private List<String> lacking(boolean wantsL3, boolean wantsMb) {
        Set<String> needed = new LinkedHashSet<>();
        needed.add("rdt_a");
        if (wantsL3) {
            needed.add("cat_l3");
        }
        if (wantsMb) {
            needed.add("mba");
        }
        needed.removeAll(cpuFlags);
        return List.copyOf(needed);
    }

    /** The RDT flags (rdt_a, cat_l3, mba) the first processor's "flags" line lists. */
    static Set<String> cpuFlags(List<String> cpuinfo) {
        for (String line : cpuinfo) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equals("flags")) {
                Set<String> present = new LinkedHashSet<>();
                for (String flag : line.substring(colon + 1).strip().split("\\s+")) {
                    if (RDT_FLAGS.contains(flag)) {
                        present.add(flag);
                    }
                }
                return present;
            }
        }
        return Set.of();
    }

    /** The mount point of the first resctrl file system in mountinfo. */
    static Optional<Path> resctrlMount(List<String> mountinfo) {
        for (String line : mountinfo) {
            String[] fields = line.split(" ");
            int separator = List.of(fields).indexOf("-");
            if (separator > 0 && separator + 1 < fields.length && fields[separator + 1].equals(RESCTRL_FSTYPE)) {
                return Optional.of(Path.of(fields[4].replace("\\040", " ")));
            }
        }
        return Optional.empty();
    }

    private static Set<String> mountOptions(List<String> mountinfo, Path mount) {
        for (String line : mountinfo) {
            String[] fields = line.split(" ");
            int separator = List.of(fields).indexOf("-");
            if (separator > 0 && separator + 3 < fields.length && fields[separator + 1].equals(RESCTRL_FSTYPE)
                    && Path.of(fields[4]).equals(mount)) {
                return Set.of(fields[separator + 3].split(","));
            }
        }
        return Set.of();
    }

    /** The domain ids of a schemata line "  L3:0=fffff;1=fffff" for {@code resource}. */
    static SortedSet<Integer> domainsOf(List<String> schemata, String resource) {
        SortedSet<Integer> ids = new TreeSet<>();
        for (String line : schemata) {
            String trimmed = line.strip();
            int colon = trimmed.indexOf(':');
            if (colon < 0 || !trimmed.substring(0, colon).strip().equals(resource)) {
                continue;
            }
            for (String entry : trimmed.substring(colon + 1).split(";")) {
                int equals = entry.indexOf('=');
                if (equals > 0) {
                    ids.add(Integer.parseInt(entry.substring(0, equals).strip()));
                }
            }
        }
        return ids;
    }

    private static String read(Path file) throws IOException {
        try {
            return Files.readString(file).strip();
        } catch (NoSuchFileException e) {
            throw new IOException("resctrl file " + file + " is missing", e);
        }
    }
}
