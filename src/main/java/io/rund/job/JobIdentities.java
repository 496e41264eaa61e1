package io.rund.job;

import io.rund.linux.AccountIds;
import io.rund.linux.FileTrees;
import io.rund.linux.SysvIpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Gives every job that names no account a user of its own, as systemd's DynamicUser does: a uid and gid from the
 * configured range that no other running job holds, and a private home (mode 0700, owned by that uid) under a
 * root-owned home root. When the job has ended and its cgroup is gone, {@link #release} removes its home and what
 * its uid left directly in the world-writable residue directories and its System V IPC objects, and only then
 * lets the id serve another job.
 * Opening the home root removes every home a previous daemon left (its jobs are gone with it).
 */
public final class JobIdentities {

    private static final Logger LOG = LoggerFactory.getLogger(JobIdentities.class);
    private static final Set<PosixFilePermission> TRAVERSE_ONLY = PosixFilePermissions.fromString("rwx--x--x");
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
    private static final int ROOT = 0;

    private final IdentitySettings settings;
    private final IdentityPool pool;
    private final List<CompletableFuture<Void>> allReleasedWaiters = new ArrayList<>();

    private JobIdentities(IdentitySettings settings, IdentityPool pool) {
        this.settings = settings;
        this.pool = pool;
    }

    /**
     * Prepares the home root (created if missing; must be a directory owned by root; mode set to 0711 so jobs can
     * enter their own home but list none) and removes the homes left in it, but those of {@code running}: jobs of an
     * earlier daemon that still run (they are adopted, with their ids, through {@link #adopt}).
     */
    public static JobIdentities open(IdentitySettings settings, AccountIds accounts) throws IOException {
        return open(settings, accounts, Set.of());
    }

    public static JobIdentities open(IdentitySettings settings, AccountIds accounts, Set<String> running) throws IOException {
        Path root = settings.homeRoot();
        Files.createDirectories(root);
        PosixFileAttributes attributes = Files.readAttributes(root, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        Object owner = Files.getAttribute(root, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isDirectory() || !Integer.valueOf(ROOT).equals(owner)) {
            throw new IOException(root + " (rund.jobs.identities.home-root) must be a directory owned by root, not a"
                    + " symlink; it is " + (attributes.isDirectory() ? "owned by uid " + owner : "not a directory")
                    + ": remove it or choose another home root");
        }
        Files.setPosixFilePermissions(root, TRAVERSE_ONLY);
        int left = 0;
        try (DirectoryStream<Path> homes = Files.newDirectoryStream(root)) {
            for (Path home : homes) {
                if (running.contains(home.getFileName().toString())) {
                    continue;
                }
                FileTrees.deleteTree(home);
                left++;
            }
        }
        if (left > 0) {
            LOG.warn("Removed {} job homes left in {} by an earlier rund", left, root);
        }
        List<Path> residue = settings.residueDirectories().stream().filter(Files::isDirectory).toList();
        if (residue.size() < settings.residueDirectories().size()) {
            LOG.info("Not removing job residue from {}: no such directory on this host",
                    settings.residueDirectories().stream().filter(dir -> !residue.contains(dir)).toList());
        }
        return new JobIdentities(new IdentitySettings(settings.firstId(), settings.lastId(), root, residue,
                        settings.removeIpc()),
                new IdentityPool(settings.firstId(), settings.lastId(), accounts));
    }

    public IdentitySettings settings() {
        return settings;
    }

    /**
     * The identity job {@code jobId} of an earlier daemon runs as, if {@code uid} is one of the range (else the job
     * runs as a named account: empty): held again, so no new job gets it, and released at its end like any other.
     */
    Optional<JobIdentity> adopt(String jobId, int uid) {
        if (!pool.holdAdopted(uid)) {
            return Optional.empty();
        }
        return Optional.of(new JobIdentity(uid, settings.homeRoot().resolve(jobId)));
    }

    /** A uid and gid of the job's own, and its home, made empty and private to it. */
    JobIdentity lease(String jobId) throws IdentityPool.Exhausted, IOException {
        int uid = pool.acquire();
        JobIdentity identity = new JobIdentity(uid, settings.homeRoot().resolve(jobId));
        try {
            Files.createDirectory(identity.home(), PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            Files.setAttribute(identity.home(), "unix:gid", identity.gid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(identity.home(), "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            return identity;
        } catch (IOException | RuntimeException e) {
            release(identity);
            throw e;
        }
    }

    /**
     * Once the job's cgroup is empty and removed (no process runs as its uid): removes its home, the entries its
     * uid owns directly in each residue directory and its System V IPC objects, then frees the id. Blocking;
     * never throws.
     */
    void release(JobIdentity identity) {
        try {
            FileTrees.deleteTree(identity.home());
        } catch (IOException e) {
            LOG.warn("Cannot remove job home {}: {}", identity.home(), e.getMessage());
        }
        for (Path directory : settings.residueDirectories()) {
            try {
                int removed = FileTrees.deleteOwnedBy(directory, identity.uid());
                if (removed > 0) {
                    LOG.debug("Removed {} entries uid {} left in {}", removed, identity.uid(), directory);
                }
            } catch (IOException e) {
                LOG.warn("Cannot remove what uid {} left in {}: {}", identity.uid(), directory, e.getMessage());
            }
        }
        if (settings.removeIpc()) {
            try {
                int removed = SysvIpc.removeOwnedBy(identity.uid());
                if (removed > 0) {
                    LOG.debug("Removed {} System V IPC objects of uid {}", removed, identity.uid());
                }
            } catch (IOException e) {
                LOG.warn("Cannot remove the System V IPC objects of uid {}: {}", identity.uid(), e.getMessage());
            }
        }
        pool.release(identity.uid());
        List<CompletableFuture<Void>> waiting;
        synchronized (allReleasedWaiters) {
            if (pool.held() > 0) {
                return;
            }
            waiting = List.copyOf(allReleasedWaiters);
            allReleasedWaiters.clear();
        }
        waiting.forEach(waiter -> waiter.complete(null));
    }

    /** How many ids running jobs hold now. */
    public int held() {
        return pool.held();
    }

    /**
     * Completes once no id is held: at shutdown, after every job has ended, the homes and residue of the last
     * jobs are removed before the daemon exits.
     */
    public CompletableFuture<Void> whenAllReleased() {
        CompletableFuture<Void> released = new CompletableFuture<>();
        synchronized (allReleasedWaiters) {
            if (pool.held() > 0) {
                allReleasedWaiters.add(released);
                return released;
            }
        }
        released.complete(null);
        return released;
    }
}
