package io.rund.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A local account as the kernel needs it for a job: uid, primary gid and supplementary groups, read from
 * /etc/passwd and /etc/group (local accounts only; rund does not consult NSS), and its home directory for HOME.
 */
public record UserAccount(String name, int uid, int gid, int[] groups, String home) {

    private static final Path PASSWD = Path.of("/etc/passwd");
    private static final Path GROUP = Path.of("/etc/group");
    private static final int PASSWD_HOME = 5;

    /**
     * Every job looks up its account, almost always the same one: answers are kept while /etc/passwd and
     * /etc/group are unchanged (same change time, modification time, size, device and inode), which costs two
     * stat calls instead of reading and splitting both files.
     */
    private static final Map<Key, Cached> CACHE = new ConcurrentHashMap<>();
    private static final int CACHE_LIMIT = 256;
    /**
     * File times come from the kernel's coarse clock (one tick, a few ms), so two writes in one tick can leave
     * the same stamp. As git does with its index, an answer read from a file changed this recently is not
     * kept: the next lookup reads again.
     */
    static final Duration RACY_WINDOW = Duration.ofSeconds(1);

    private record Key(Path passwd, Path group, String nameOrUid) {}

    private record Cached(Optional<UserAccount> account, List<Object> stamp) {}

    /** Looks up {@code nameOrUid}: an account name, or a numeric uid present in /etc/passwd. */
    public static Optional<UserAccount> lookup(String nameOrUid) throws IOException {
        return lookup(nameOrUid, PASSWD, GROUP);
    }

    /** As {@link #lookup(String)}, in the given passwd and group files. */
    static Optional<UserAccount> lookup(String nameOrUid, Path passwd, Path group) throws IOException {
        Key key = new Key(passwd, group, nameOrUid);
        Instant now = Instant.now();
        // Stamps first, then the read: a change in between leaves an old stamp on new answers, never the reverse.
        List<Object> stamp = List.of(stamp(passwd), stamp(group));
        Cached cached = CACHE.get(key);
        if (cached != null && cached.stamp().equals(stamp)) {
            return cached.account();
        }
        Optional<UserAccount> account = read(nameOrUid, passwd, group);
        if (changedBefore(passwd, now.minus(RACY_WINDOW)) && changedBefore(group, now.minus(RACY_WINDOW))) {
            if (CACHE.size() >= CACHE_LIMIT) {
                CACHE.clear();
            }
            CACHE.put(key, new Cached(account, stamp));
        }
        return account;
    }

    /** A copy: accounts are shared between lookups. */
    @Override
    public int[] groups() {
        return groups.clone();
    }

    /** What changes whenever a file's content may have: change and modification times, size, device, inode. */
    static List<Object> stamp(Path file) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(file, "unix:ctime,lastModifiedTime,size,dev,ino");
        return List.of(attributes.get("ctime"), attributes.get("lastModifiedTime"), attributes.get("size"),
                attributes.get("dev"), attributes.get("ino"));
    }

    static boolean changedBefore(Path file, Instant instant) throws IOException {
        FileTime changed = (FileTime) Files.getAttribute(file, "unix:ctime");
        return changed.toInstant().isBefore(instant);
    }

    private static Optional<UserAccount> read(String nameOrUid, Path passwd, Path group) throws IOException {
        for (String line : Files.readAllLines(passwd)) {
            String[] f = line.split(":", -1);
            if (f.length < 4 || line.startsWith("#")) {
                continue;
            }
            if (f[0].equals(nameOrUid) || f[2].equals(nameOrUid)) {
                int gid = Integer.parseInt(f[3]);
                String home = f.length > PASSWD_HOME ? f[PASSWD_HOME] : "";
                return Optional.of(new UserAccount(f[0], Integer.parseInt(f[2]), gid, groupsOf(f[0], gid, group), home));
            }
        }
        return Optional.empty();
    }

    private static int[] groupsOf(String user, int primaryGid, Path group) throws IOException {
        List<Integer> gids = new ArrayList<>(List.of(primaryGid));
        for (String line : Files.readAllLines(group)) {
            String[] f = line.split(":", -1);
            if (f.length < 4 || line.startsWith("#")) {
                continue;
            }
            int gid = Integer.parseInt(f[2]);
            if (!gids.contains(gid) && List.of(f[3].split(",")).contains(user)) {
                gids.add(gid);
            }
        }
        return gids.stream().mapToInt(Integer::intValue).toArray();
    }
}
