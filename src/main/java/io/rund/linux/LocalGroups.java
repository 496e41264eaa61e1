package io.rund.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The host's local groups by name, from /etc/group (rund does not consult NSS, as {@link UserAccount}): what a job's
 * {@code --group} and {@code --groups} names and rund.jobs.allowed-groups' names mean. Read again only when the file
 * has changed (same change time, modification time, size, device and inode), so a lookup costs one stat call.
 */
public final class LocalGroups {

    private static final Path GROUP = Path.of("/etc/group");
    private static final int GROUP_NAME = 0;
    private static final int GROUP_GID = 2;

    private final Path group;
    private Snapshot snapshot;

    private record Snapshot(List<Object> stamp, Map<String, Integer> gids) {}

    /** The groups of {@code group}, a file in /etc/group's format. */
    public LocalGroups(Path group) {
        this.group = group;
    }

    /** The host's /etc/group. */
    public static LocalGroups system() {
        return new LocalGroups(GROUP);
    }

    /** The gid of the group named {@code name}, or empty if the file names no such group. */
    public synchronized OptionalInt gidOf(String name) throws IOException {
        Instant now = Instant.now();
        // Stamp first, then the read: a change in between leaves an old stamp on new names, so they are read again.
        List<Object> stamp = UserAccount.stamp(group);
        if (snapshot == null || !snapshot.stamp().equals(stamp)) {
            Map<String, Integer> gids = read(group);
            // As UserAccount: a file changed within the clock's granularity may change again under the same stamp.
            snapshot = UserAccount.changedBefore(group, now.minus(UserAccount.RACY_WINDOW))
                    ? new Snapshot(stamp, gids) : null;
            Integer gid = gids.get(name);
            return gid == null ? OptionalInt.empty() : OptionalInt.of(gid);
        }
        Integer gid = snapshot.gids().get(name);
        return gid == null ? OptionalInt.empty() : OptionalInt.of(gid);
    }

    @Override
    public String toString() {
        return group.toString();
    }

    private static Map<String, Integer> read(Path file) throws IOException {
        Map<String, Integer> gids = new HashMap<>();
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith("#")) {
                continue;
            }
            String[] fields = line.split(":", -1);
            if (fields.length <= GROUP_GID) {
                continue;
            }
            try {
                int gid = Integer.parseUnsignedInt(fields[GROUP_GID]);
                if (gid >= 0) { // above 2^31 - 1 is no gid a job can be given
                    gids.putIfAbsent(fields[GROUP_NAME], gid);
                }
            } catch (NumberFormatException notAnId) {
                // a malformed line names no group
            }
        }
        return Map.copyOf(gids);
    }
}
