package io.rund.cgroup;

import io.rund.linux.FsCredentials;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns rund's cgroup v2 subtree: finds or makes it, enables the controllers the host offers,
 * creates one cgroup per job with its limits written exactly, clears cgroups a crashed
 * predecessor left, and removes the subtree on close if it made it. Safe to share between
 * threads: apart from closing, it keeps no state that changes.
 */
public final class CgroupManager {
    /** Under a daemon running in the root cgroup, jobs go here. */
    static final String DEFAULT_SUBTREE_NAME = "rund";
    /** Under a daemon's own cgroup, the leaf the daemon moves itself into ... */
    static final String DAEMON_LEAF_NAME = "daemon";
    /** ... and the sibling the jobs go under (cgroup v2's no-internal-processes rule). */
    static final String JOBS_NAME = "jobs";
    /** The leaf rund-keeper moves itself into, beside the job cgroups (whose names are ULIDs). */
    static final String KEEPER_LEAF_NAME = "rund-keeper";
    /** How long close() waits for an exited keeper to leave its leaf before removing it. */
    private static final Duration KEEPER_LEAVING = Duration.ofSeconds(2);
    /** How long removeOrphans waits for a killed leftover cgroup to empty. */
    static final Duration ORPHAN_KILL_TIMEOUT = Duration.ofSeconds(10);
    /**
     * Job cgroup names: no dots (every control file name has one, so no clash), no slashes,
     * nothing the kernel or a shell would trip on. ULIDs fit.
     */
    private static final Pattern JOB_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,254}");
    private static final Logger log = LoggerFactory.getLogger(CgroupManager.class);

    private final Path mount;
    private final Path subtree;
    private final Set<String> availableControllers;
    /** Directories open() made, outermost first; close() removes them innermost first. */
    private final List<Path> createdByUs;
    private volatile boolean closed;

    private CgroupManager(Path mount, Path subtree, Set<String> availableControllers, List<Path> createdByUs) {
        this.mount = mount;
        this.subtree = subtree;
        this.availableControllers = availableControllers;
        this.createdByUs = createdByUs;
    }

    /**
     * Finds the cgroup2 mount from /proc/self/mountinfo and the daemon's own cgroup from
     * /proc/self/cgroup, then sets up the subtree jobs go under.
     *
     * @param configuredRoot a cgroup directory, absolute under the cgroup2 mount or relative to
     *                       it; made if missing (and then removed by close). Jobs go directly
     *                       under it. Empty: under the daemon's own cgroup (see class docs).
     */
    public static CgroupManager open(Optional<Path> configuredRoot) throws CgroupException {
        return open(CgroupLocation.ofCurrentProcess(), configuredRoot);
    }

    /**
     * Where a daemon at {@code location} puts its jobs ({@code subtree}), the cgroup from which it enables controllers
     * down to them ({@code top}), and the leaf it moves itself into first, if any. Decided here only, for
     * {@link #open} and for {@link CgroupReport}.
     */
    record Placement(Path subtree, Path top, Optional<Path> daemonLeaf) {}

    static Placement placement(CgroupLocation location, Optional<Path> configuredRoot) throws CgroupException {
        Path mount = location.mount();
        if (configuredRoot.isPresent()) {
            return new Placement(configuredSubtree(mount, configuredRoot.get()), mount, Optional.empty());
        }
        if (location.ownCgroup().equals(mount)) {
            return new Placement(mount.resolve(DEFAULT_SUBTREE_NAME), mount, Optional.empty());
        }
        Path own = ownCgroupAboveDaemonLeaf(location.ownCgroup());
        return new Placement(own.resolve(JOBS_NAME), own, Optional.of(own.resolve(DAEMON_LEAF_NAME)));
    }

    static CgroupManager open(CgroupLocation location, Optional<Path> configuredRoot) throws CgroupException {
        Path mount = location.mount();
        List<Path> created = new ArrayList<>();
        try {
            Placement placement = placement(location, configuredRoot);
            Path subtree = placement.subtree();
            Path topToConfigure = placement.top();
            if (placement.daemonLeaf().isPresent()) {
                moveDaemonInto(placement.daemonLeaf().get());
            }
            createMissing(mount, subtree, created);
            enableControllers(topToConfigure, subtree);
            Set<String> available = Collections.unmodifiableSet(new TreeSet<>(
                    words(ControlFile.in(subtree, "cgroup.subtree_control").read())));
            log.info("cgroup subtree {} ready; controllers for jobs: {}", subtree,
                    available.isEmpty() ? "none" : String.join(" ", available));
            return new CgroupManager(mount, subtree, available, List.copyOf(created));
        } catch (CgroupException | RuntimeException e) {
            removeCreated(created, e);
            throw e;
        }
    }

    /** The cgroup2 mount point. */
    public Path mount() {
        return mount;
    }

    /** The directory job cgroups are created in. */
    public Path subtree() {
        return subtree;
    }

    /** The controllers job cgroups get (those enabled in the subtree's cgroup.subtree_control). */
    public Set<String> availableControllers() {
        return availableControllers;
    }

    /** The leaf cgroup of rund-keeper, which spawns and holds the jobs (io.rund.linux.Keeper): beside the jobs. */
    public Path keeperLeaf() {
        return subtree.resolve(KEEPER_LEAF_NAME);
    }

    /**
     * Kills, awaits and removes every cgroup found under the subtree: leftovers of a predecessor
     * that crashed. Returns their names for the caller to log.
     */
    public List<String> removeOrphans() throws CgroupException {
        return removeOrphans(Set.of());
    }

    /**
     * As {@link #removeOrphans()}, sparing the keeper's leaf and the cgroups named in {@code kept}: jobs the keeper
     * still holds, which outlived the daemon that started them.
     */
    public List<String> removeOrphans(Set<String> kept) throws CgroupException {
        requireOpen();
        Path ownCgroup = CgroupLocation.ofCurrentProcess().ownCgroup();
        List<String> removed = new ArrayList<>();
        for (Path orphanPath : Cgroup.childCgroups(subtree)) {
            String name = orphanPath.getFileName().toString();
            if (name.equals(KEEPER_LEAF_NAME) || kept.contains(name)) {
                continue;
            }
            if (ownCgroup.startsWith(orphanPath)) {
                throw new CgroupException(orphanPath, "refusing to kill: rund itself runs in it ("
                        + ownCgroup + ")");
            }
            Cgroup orphan = new Cgroup(orphanPath.getFileName().toString(), orphanPath);
            orphan.kill();
            if (!orphan.awaitEmpty(ORPHAN_KILL_TIMEOUT)) {
                throw new CgroupException(orphanPath, "still has processes " + ORPHAN_KILL_TIMEOUT
                        + " after cgroup.kill");
            }
            orphan.remove();
            removed.add(orphan.name());
        }
        return List.copyOf(removed);
    }

    /**
     * Creates a job's cgroup with its limits. Everything is checked first, so a refusal creates
     * nothing; a failed write removes the new cgroup again.
     *
     * @param name             the job's cgroup name (a ULID; letters, digits, '-' and '_')
     * @param workingDirectory the job's working directory, whose disk an io limit without a
     *                         device applies to
     * @throws InvalidLimitException      a limit is out of range or names no usable block device
     * @throws MissingControllerException a limit needs a controller the subtree does not offer
     * @throws CgroupException            the cgroup exists already, or a write failed
     */
    public Cgroup create(String name, Limits limits, Path workingDirectory)
            throws InvalidLimitException, MissingControllerException, CgroupException {
        return create(name, limits, workingDirectory, FsCredentials.DAEMON);
    }

    /**
     * As {@link #create(String, Limits, Path)}, with io device paths (and the working directory, for an io limit
     * without a device) looked at as the job's {@code user} would see them: no answer reveals a file that user
     * could not see.
     */
    public Cgroup create(String name, Limits limits, Path workingDirectory, FsCredentials user)
            throws InvalidLimitException, MissingControllerException, CgroupException {
        requireOpen();
        checkJobName(name);
        List<LimitWrites.Write> writes = LimitWrites.plan(limits, workingDirectory, user);
        checkControllers(limits);
        return createWith(name, writes);
    }

    /**
     * Changes the limits of a running job's cgroup: everything is checked first (values, devices as the job's
     * {@code user} sees them, controllers), then each file is written in turn and the limits then in force are read
     * back. Lowering memory.max below the job's usage makes the kernel reclaim, or OOM-kill if it cannot:
     * {@link LimitsInForce#oomKills} says how many processes the change cost.
     *
     * @throws InvalidLimitException      a value is out of range, or names no usable block device
     * @throws MissingControllerException a limit needs a controller the subtree does not offer
     * @throws CgroupException            the cgroup is gone (the job ended), or the kernel refused a write; the
     *                                    writes before it stay in force and the message says which
     */
    public LimitsInForce update(Cgroup cgroup, LimitChange change, Path workingDirectory, FsCredentials user)
            throws InvalidLimitException, MissingControllerException, CgroupException {
        requireOpen();
        List<LimitWrites.Write> writes = LimitWrites.planChange(change, workingDirectory, user);
        checkControllers(change.controllerByLimit());
        long oomKillsBefore = cgroup.oomKills();
        List<String> done = new ArrayList<>();
        for (LimitWrites.Write write : writes) {
            try {
                cgroup.write(write.file(), write.value());
            } catch (CgroupException e) {
                throw done.isEmpty() ? e : new CgroupException(cgroup.path(), e.getMessage()
                        + " (already written, and in force: " + String.join(", ", done) + ")", e);
            }
            done.add(write.file() + " " + write.value());
        }
        return new LimitsInForce(cgroup.limitsInForce(), cgroup.oomKills() - oomKillsBefore);
    }

    /** A job's limits after {@link #update}, and how many of its processes the OOM killer ended meanwhile. */
    public record LimitsInForce(Limits limits, long oomKills) {}

    /**
     * The cgroup of job {@code name} that an earlier daemon created and whose processes outlived it (held by the
     * keeper), for the daemon that adopts the job. It may be gone (the job ended and it was removed): see
     * {@link Cgroup#exists()}.
     */
    public Cgroup existing(String name) {
        requireOpen();
        checkJobName(name);
        return new Cgroup(name, subtree.resolve(name));
    }

    /**
     * Removes the subtree if open() made it. Job cgroups must be gone by then: they are not
     * killed here, and the daemon is not moved back.
     */
    public void close() throws CgroupException {
        if (closed) {
            return;
        }
        Path keeper = keeperLeaf();
        if (Files.isDirectory(keeper)) {
            try {
                // The keeper's connection ends a moment before its process has left the leaf (measured: an rmdir 4 ms
                // after it failed with EBUSY): wait for the leaf to empty, then remove it; else the check below names it.
                new Cgroup(KEEPER_LEAF_NAME, keeper).awaitEmpty(KEEPER_LEAVING);
                Files.delete(keeper);
            } catch (IOException e) { // a CgroupException too
                log.debug("keeper leaf {} not removed: {}", keeper, e.getMessage());
            }
        }
        for (Path dir : createdByUs.reversed()) {
            List<Path> left = Cgroup.childCgroups(dir).stream()
                    .filter(child -> !createdByUs.contains(child)).toList();
            if (!left.isEmpty()) {
                throw new CgroupException(dir, "cannot remove: job cgroups are still in it: "
                        + String.join(", ", left.stream().map(p -> p.getFileName().toString()).toList()));
            }
            Cgroup.removeTree(dir);
        }
        closed = true;
    }

    @Override
    public String toString() {
        return "CgroupManager[" + subtree + "]";
    }

    /** mkdir, then the planned writes in order; any failure removes the directory again. */
    Cgroup createWith(String name, List<LimitWrites.Write> writes) throws CgroupException {
        Path path = subtree.resolve(name);
        try {
            Files.createDirectory(path);
        } catch (FileAlreadyExistsException e) {
            throw new CgroupException(path, "cannot create: it already exists", e);
        } catch (IOException e) {
            throw new CgroupException(path, "cannot create: " + e.getMessage(), e);
        }
        try {
            for (LimitWrites.Write write : writes) {
                ControlFile.in(path, write.file()).write(write.value());
            }
        } catch (CgroupException e) {
            try {
                Cgroup.removeTree(path);
            } catch (CgroupException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return new Cgroup(name, path);
    }

    private void checkControllers(Limits limits) throws MissingControllerException {
        checkControllers(limits.controllerByLimit());
    }

    private void checkControllers(SequencedMap<String, String> controllerByLimit) throws MissingControllerException {
        SequencedMap<String, String> missing = new LinkedHashMap<>();
        controllerByLimit.forEach((limit, controller) -> {
            if (!availableControllers.contains(controller)) {
                missing.put(limit, controller);
            }
        });
        if (!missing.isEmpty()) {
            throw new MissingControllerException(missing, availableControllers);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    private static void checkJobName(String name) {
        if (!JOB_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("not a valid job cgroup name: \"" + name
                    + "\" (letters, digits, '-' and '_', starting with a letter or digit, at most 255)");
        }
    }

    private static Path configuredSubtree(Path mount, Path configured) throws CgroupException {
        Path subtree = mount.resolve(configured).normalize();
        if (!subtree.startsWith(mount)) {
            throw new CgroupException(configured, "the configured cgroup root is not under the cgroup2 mount " + mount);
        }
        if (subtree.equals(mount)) {
            throw new CgroupException(configured, "the configured cgroup root is the whole cgroup2 hierarchy;"
                    + " name a cgroup under " + mount + " that rund may own");
        }
        return subtree;
    }

    /** A daemon restarted by exec inside its own daemon leaf keeps using the same layout. */
    private static Path ownCgroupAboveDaemonLeaf(Path own) {
        Path parent = own.getParent();
        boolean inDaemonLeaf = own.getFileName().toString().equals(DAEMON_LEAF_NAME)
                && Files.isDirectory(parent.resolve(JOBS_NAME));
        return inDaemonLeaf ? parent : own;
    }

    private static void moveDaemonInto(Path daemonLeaf) throws CgroupException {
        try {
            Files.createDirectories(daemonLeaf);
        } catch (IOException e) {
            throw new CgroupException(daemonLeaf, "cannot create the daemon's leaf cgroup: " + e.getMessage(), e);
        }
        long pid = ProcessHandle.current().pid();
        ControlFile.in(daemonLeaf, "cgroup.procs").write(Long.toString(pid));
        log.info("moved rund (pid {}) into {} so that its parent may hold the jobs' cgroups", pid, daemonLeaf);
    }

    /** mkdir each missing directory from the mount down to {@code target}, recording them. */
    private static void createMissing(Path mount, Path target, List<Path> created) throws CgroupException {
        Path dir = mount;
        for (Path part : mount.relativize(target)) {
            dir = dir.resolve(part);
            if (Files.isDirectory(dir)) {
                continue;
            }
            try {
                Files.createDirectory(dir);
                created.add(dir);
            } catch (FileAlreadyExistsException e) {
                // Made concurrently by someone else: use it, but it is not ours to remove.
            } catch (IOException e) {
                throw new CgroupException(dir, "cannot create: " + e.getMessage(), e);
            }
        }
    }

    /**
     * From {@code top} down to the subtree, enables in each cgroup.subtree_control the
     * controllers its cgroup.controllers offers; one that cannot be enabled is logged and
     * left out (jobs then cannot have limits it enforces, and asking for one is refused).
     */
    private static void enableControllers(Path top, Path subtree) throws CgroupException {
        Path dir = top;
        List<Path> chain = new ArrayList<>(List.of(top));
        for (Path part : top.relativize(subtree)) {
            dir = dir.resolve(part);
            chain.add(dir);
        }
        for (Path cgroup : chain) {
            Set<String> offered = words(ControlFile.in(cgroup, "cgroup.controllers").read());
            ControlFile subtreeControl = ControlFile.in(cgroup, "cgroup.subtree_control");
            offered.removeAll(words(subtreeControl.read()));
            for (String controller : offered) {
                try {
                    subtreeControl.write("+" + controller);
                } catch (CgroupException e) {
                    log.warn("cannot enable the {} controller for cgroups under {}; limits it enforces will be refused: {}",
                            controller, cgroup, e.getMessage());
                }
            }
        }
    }

    static Set<String> words(String text) {
        Set<String> words = new LinkedHashSet<>();
        for (String word : text.strip().split("\\s+")) {
            if (!word.isEmpty()) {
                words.add(word);
            }
        }
        return words;
    }

    private static void removeCreated(List<Path> created, Exception failure) {
        for (Path dir : created.reversed()) {
            try {
                Cgroup.removeTree(dir);
            } catch (CgroupException cleanup) {
                failure.addSuppressed(cleanup);
            }
        }
    }
}
