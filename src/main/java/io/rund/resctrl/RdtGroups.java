package io.rund.resctrl;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Owns rund's resctrl groups, one per job that asks for Intel RDT ("rund-JOBID" in the resctrl root): creates one
 * with its schemata written and read back, changes a running job's schemata, removes it when the job has ended, and
 * at start-up removes the empty groups of jobs that ended while no daemon ran. Never mounts resctrl and never
 * touches a group it did not name. The job's first process joins the group through its tasks file before it execs
 * (see spawn.c), so every process it forks inherits the group.
 */
public final class RdtGroups {
    /** Prefix of every group rund makes; the rest is the job id. */
    public static final String GROUP_PREFIX = "rund-";
    private static final Pattern JOB_ID = Pattern.compile("[0-9A-Za-z]{1,64}");
    /** ENOSPC: mkdir of a resctrl group when every CLOSID is in use. */
    private static final String NO_SPACE = "No space left on device";

    private final RdtHost host;

    public RdtGroups(RdtHost host) {
        this.host = host;
    }

    /** This host's resctrl, read once; a host without it gives groups that refuse every request, saying why. */
    public static RdtGroups ofThisHost() {
        try {
            return new RdtGroups(RdtHost.ofThisHost());
        } catch (IOException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(RdtGroups.class).warn("cannot read this host's resctrl; Intel RDT"
                    + " requests will be refused: {}", e.getMessage());
            return new RdtGroups(new RdtHost(Set.of(), Optional.empty(), Optional.empty(), Optional.empty(), false));
        }
    }

    public RdtHost host() {
        return host;
    }

    /** The schemata lines for a job's request, validated against the host (nothing is created). */
    public List<String> plan(Optional<DomainValues> l3, Optional<DomainValues> mb) throws RdtException {
        return RdtSchemata.render(host, l3, mb);
    }

    /** The directory job {@code jobId}'s group has (or would have). */
    public Path groupOf(String jobId) {
        if (!JOB_ID.matcher(jobId).matches()) {
            throw new IllegalArgumentException("not a job id: " + jobId);
        }
        return root().resolve(GROUP_PREFIX + jobId);
    }

    /**
     * Makes job {@code jobId}'s group with the {@code lines} of {@link #plan}, reads its schemata back and returns
     * the group's tasks file, which the job's first process writes itself into. A failure removes the group again.
     *
     * @throws RdtException EXHAUSTED when every CLOSID is taken (mkdir fails with ENOSPC); IO for anything else
     */
    public Path create(String jobId, List<String> lines) throws RdtException {
        Path group = groupOf(jobId);
        try {
            Files.createDirectory(group);
        } catch (FileAlreadyExistsException e) {
            throw new RdtException(RdtException.Kind.IO, RdtSchemata.L3_FIELD, "resctrl group " + group + " exists already", e);
        } catch (FileSystemException e) {
            if (e.getReason() != null && e.getReason().contains(NO_SPACE)) {
                throw new RdtException(RdtException.Kind.EXHAUSTED, fieldOf(lines), "every Intel RDT class of service"
                        + " (CLOSID) of this host is in use (" + closids() + " in all, the default group's among them):"
                        + " wait for a job that has an RDT limit to end", e);
            }
            throw new RdtException(RdtException.Kind.IO, fieldOf(lines), "cannot create resctrl group " + group + ": "
                    + e.getMessage(), e);
        } catch (IOException e) {
            throw new RdtException(RdtException.Kind.IO, fieldOf(lines), "cannot create resctrl group " + group + ": "
                    + e.getMessage(), e);
        }
        try {
            write(group, lines);
        } catch (RdtException e) {
            try {
                removeDirectory(group);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return group.resolve("tasks");
    }

    /**
     * Changes the schemata of job {@code jobId}'s group to {@code lines} (validated by {@link #plan}) and returns the
     * group's schemata as the kernel now reports them.
     */
    public List<String> update(String jobId, List<String> lines) throws RdtException {
        Path group = groupOf(jobId);
        if (!Files.isDirectory(group)) {
            throw new RdtException(RdtException.Kind.UNSUPPORTED, fieldOf(lines), "the job was started without an"
                    + " Intel RDT limit (it has no resctrl group); an RDT limit can only be changed, not added");
        }
        write(group, lines);
        return schemata(group);
    }

    /** The schemata of job {@code jobId}'s group, or empty if it has none. */
    public Optional<List<String>> schemataOf(String jobId) throws RdtException {
        Path group = groupOf(jobId);
        return Files.isDirectory(group) ? Optional.of(schemata(group)) : Optional.empty();
    }

    /** Removes job {@code jobId}'s group if it has one (the kernel moves any task left in it to the default group). */
    public boolean remove(String jobId) throws IOException {
        if (host.mount().isEmpty()) {
            return false;
        }
        Path group = groupOf(jobId);
        if (!Files.isDirectory(group)) {
            return false;
        }
        removeDirectory(group);
        return true;
    }

    /**
     * Removes the rund groups of jobs not in {@code kept} whose tasks file is empty: left by jobs that ended while no
     * daemon ran. A group that still lists tasks is left alone (it may belong to another rund on this host) and
     * named in the result's second list.
     */
    public Orphans removeOrphans(Set<String> kept) throws IOException {
        List<String> removed = new ArrayList<>();
        List<String> busy = new ArrayList<>();
        if (host.mount().isEmpty()) {
            return new Orphans(removed, busy);
        }
        try (DirectoryStream<Path> groups = Files.newDirectoryStream(root(), GROUP_PREFIX + "*")) {
            for (Path group : groups) {
                String jobId = group.getFileName().toString().substring(GROUP_PREFIX.length());
                if (!Files.isDirectory(group) || kept.contains(jobId) || !JOB_ID.matcher(jobId).matches()) {
                    continue;
                }
                Path tasks = group.resolve("tasks");
                if (Files.exists(tasks) && !Files.readString(tasks).isBlank()) {
                    busy.add(group.getFileName().toString());
                    continue;
                }
                removeDirectory(group);
                removed.add(group.getFileName().toString());
            }
        }
        return new Orphans(removed, busy);
    }

    /**
     * The values of {@code resource} ("L3", "MB") in schemata lines as the kernel prints them, by domain id: what a
     * job's group has in force.
     */
    public static Optional<DomainValues> valuesOf(List<String> schemata, String resource) {
        int radix = resource.equals("MB") ? 10 : 16;
        for (String line : schemata) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equals(resource)) {
                java.util.Map<Integer, Long> values = values(line, radix);
                return values.isEmpty() ? Optional.empty() : Optional.of(DomainValues.perDomain(values));
            }
        }
        return Optional.empty();
    }

    /** What {@link #removeOrphans} did: groups removed, and groups left because they still hold tasks. */
    public record Orphans(List<String> removed, List<String> stillInUse) {}

    private Path root() {
        return host.mount().orElseThrow(() -> new IllegalStateException("this host has no resctrl mount"));
    }

    private String closids() {
        int l3 = host.l3().map(RdtHost.Cache::numClosids).orElse(Integer.MAX_VALUE);
        int mb = host.mb().map(RdtHost.Bandwidth::numClosids).orElse(Integer.MAX_VALUE);
        int least = Math.min(l3, mb);
        return least == Integer.MAX_VALUE ? "?" : Integer.toString(least);
    }

    /** The lines in one write (the kernel parses each line of it), then read back and compared domain by domain. */
    private static void write(Path group, List<String> lines) throws RdtException {
        Path schemata = group.resolve("schemata");
        try {
            Files.writeString(schemata, String.join("\n", lines) + "\n");
        } catch (IOException e) {
            throw new RdtException(RdtException.Kind.INVALID, fieldOf(lines), "the kernel refused \""
                    + String.join(" | ", lines) + "\" in " + schemata + " (" + e.getMessage() + "; see "
                    + group.getParent().resolve("info/last_cmd_status") + ")", e);
        }
        List<String> inForce = schemata(group);
        for (String line : lines) {
            if (!covers(inForce, line)) {
                throw new RdtException(RdtException.Kind.IO, fieldOf(List.of(line)), "wrote \"" + line + "\" to "
                        + schemata + " but it reads back " + String.join(" | ", inForce));
            }
        }
    }

    /**
     * Whether the schemata read back hold every domain's value of the {@code written} line. The kernel prints all of
     * a resource's domains on one line, masks zero-padded ("L3:0=000ff;1=fffff") and percentages space-padded
     * ("MB:0= 50;1=100"), so values are compared as numbers, domain by domain.
     */
    static boolean covers(List<String> readBack, String written) {
        String resource = written.substring(0, written.indexOf(':'));
        int radix = resource.equals("MB") ? 10 : 16;
        java.util.Map<Integer, Long> wanted = values(written, radix);
        for (String line : readBack) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equals(resource)) {
                java.util.Map<Integer, Long> actual = values(line, radix);
                return wanted.entrySet().stream().allMatch(e -> e.getValue().equals(actual.get(e.getKey())));
            }
        }
        return false;
    }

    private static java.util.Map<Integer, Long> values(String line, int radix) {
        java.util.Map<Integer, Long> values = new java.util.HashMap<>();
        for (String entry : line.substring(line.indexOf(':') + 1).split(";")) {
            int equals = entry.indexOf('=');
            if (equals > 0) {
                try {
                    values.put(Integer.parseInt(entry.substring(0, equals).strip()),
                            Long.parseLong(entry.substring(equals + 1).strip(), radix));
                } catch (NumberFormatException e) {
                    // not a value this line can be compared on
                }
            }
        }
        return values;
    }

    /** The group's schemata lines as the kernel reports them, trimmed. */
    static List<String> schemata(Path group) throws RdtException {
        try {
            return Files.readAllLines(group.resolve("schemata")).stream().map(String::strip)
                    .filter(line -> !line.isEmpty()).toList();
        } catch (IOException e) {
            throw new RdtException(RdtException.Kind.IO, RdtSchemata.L3_FIELD, "cannot read " + group.resolve("schemata")
                    + ": " + e.getMessage(), e);
        }
    }

    /** A resctrl group goes with one rmdir; a copy of the tree laid out in plain files needs its files removed first. */
    private static void removeDirectory(Path group) throws IOException {
        try {
            Files.delete(group);
        } catch (DirectoryNotEmptyException e) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(group)) {
                for (Path file : files) {
                    Files.deleteIfExists(file);
                }
            }
            Files.delete(group);
        } catch (NoSuchFileException e) {
            // gone already
        }
    }

    private static String fieldOf(List<String> lines) {
        return !lines.isEmpty() && lines.getFirst().startsWith("MB") ? RdtSchemata.MB_FIELD : RdtSchemata.L3_FIELD;
    }
}
