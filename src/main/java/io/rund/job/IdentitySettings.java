package io.rund.job;

import com.typesafe.config.Config;

import java.nio.file.Path;
import java.util.List;

/**
 * The {@code rund.jobs.identities} settings: the range of user and group ids jobs get one of each (when they name
 * no account and no default user is configured), where their private homes live, and the world-writable
 * directories from which a job's leftovers are removed when it ends.
 *
 * @param firstId             first id of the range (a job's uid and gid are the same number)
 * @param lastId              last id of the range, inclusive
 * @param homeRoot            root-owned directory (mode 0711) holding one private home per job
 * @param residueDirectories  directories whose top-level entries owned by a job's uid are removed when it ends
 * @param removeIpc           whether the System V IPC objects of a job's uid are removed when it ends
 */
public record IdentitySettings(int firstId, int lastId, Path homeRoot, List<Path> residueDirectories,
                               boolean removeIpc) {

    /** The suffix that makes the default home root a sibling of the state directory. */
    static final String HOME_ROOT_SUFFIX = "-home";

    public IdentitySettings {
        residueDirectories = List.copyOf(residueDirectories);
        if (firstId < 1 || lastId < firstId) {
            throw new IllegalArgumentException("rund.jobs.identities: first-id (" + firstId + ") must be at least 1"
                    + " and last-id (" + lastId + ") at least first-id");
        }
        if (!homeRoot.isAbsolute()) {
            throw new IllegalArgumentException("rund.jobs.identities.home-root must be an absolute path: " + homeRoot);
        }
    }

    /** Reads {@code rund.jobs.identities}; an empty home-root means "{@code <state-directory>-home}". */
    public static IdentitySettings fromConfig(Config rund) {
        Config identities = rund.getConfig("jobs.identities");
        String homeRoot = identities.getString("home-root");
        return new IdentitySettings(identities.getInt("first-id"), identities.getInt("last-id"),
                homeRoot.isEmpty() ? defaultHomeRoot(Path.of(rund.getString("state-directory"))) : Path.of(homeRoot),
                identities.getStringList("remove-residue-in").stream().map(Path::of).toList(),
                identities.getBoolean("remove-ipc"));
    }

    /** The home root beside {@code stateDirectory}: outside it, since jobs may not enter the state directory. */
    public static Path defaultHomeRoot(Path stateDirectory) {
        Path absolute = stateDirectory.toAbsolutePath();
        return absolute.resolveSibling(absolute.getFileName() + HOME_ROOT_SUFFIX);
    }

    public IdentitySettings withHomeRoot(Path root) {
        return new IdentitySettings(firstId, lastId, root, residueDirectories, removeIpc);
    }

    /** How many ids the range holds. */
    public long size() {
        return (long) lastId - firstId + 1;
    }
}
