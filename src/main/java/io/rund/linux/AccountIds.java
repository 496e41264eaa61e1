package io.rund.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The user and group ids the host's local account files name (every uid and primary gid in /etc/passwd, every
 * gid in /etc/group): ids rund must never hand to a job as its own. Read again only when a file has changed
 * (same change time, modification time, size, device and inode), so each job start costs two stat calls.
 * Local files only: rund does not consult NSS (LDAP, sssd), so a range used there must not be configured.
 */
public final class AccountIds {

    private static final Path PASSWD = Path.of("/etc/passwd");
    private static final Path GROUP = Path.of("/etc/group");
    private static final int PASSWD_UID = 2;
    private static final int PASSWD_GID = 3;
    private static final int GROUP_GID = 2;

    private final Path passwd;
    private final Path group;
    private Snapshot snapshot;

    private record Snapshot(List<Object> stamp, Set<Integer> ids) {}

    /** The ids of {@code passwd} and {@code group} files. */
    public AccountIds(Path passwd, Path group) {
        this.passwd = passwd;
        this.group = group;
    }

    /** The host's /etc/passwd and /etc/group. */
    public static AccountIds system() {
        return new AccountIds(PASSWD, GROUP);
    }

    /** Every id named as a user or a group. */
    public synchronized Set<Integer> inUse() throws IOException {
        // Stamps first, then the read: a change in between leaves an old stamp on new ids, so they are read again.
        Instant now = Instant.now();
        List<Object> stamp = List.of(UserAccount.stamp(passwd), UserAccount.stamp(group));
        if (snapshot != null && snapshot.stamp().equals(stamp)) {
            return snapshot.ids();
        }
        Set<Integer> ids = new HashSet<>();
        collect(passwd, ids, PASSWD_UID, PASSWD_GID);
        collect(group, ids, GROUP_GID);
        // As UserAccount: a file changed within the clock's granularity may change again under the same stamp.
        Instant settled = now.minus(UserAccount.RACY_WINDOW);
        boolean keep = UserAccount.changedBefore(passwd, settled) && UserAccount.changedBefore(group, settled);
        snapshot = keep ? new Snapshot(stamp, Set.copyOf(ids)) : null;
        return Set.copyOf(ids);
    }

    @Override
    public String toString() {
        return passwd + " and " + group;
    }

    private static void collect(Path file, Set<Integer> ids, int... columns) throws IOException {
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith("#")) {
                continue;
            }
            String[] fields = line.split(":", -1);
            for (int column : columns) {
                if (column < fields.length) {
                    try {
                        ids.add(Integer.parseUnsignedInt(fields[column]));
                    } catch (NumberFormatException notAnId) {
                        // a malformed line names no id
                    }
                }
            }
        }
    }
}
