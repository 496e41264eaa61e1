package io.rund.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A local account as the kernel needs it for a job: uid, primary gid and supplementary groups, read from
 * /etc/passwd and /etc/group (local accounts only; rund does not consult NSS).
 */
public record UserAccount(String name, int uid, int gid, int[] groups) {

    private static final Path PASSWD = Path.of("/etc/passwd");
    private static final Path GROUP = Path.of("/etc/group");

    /**
     * Every job looks up its account, almost always the same one: answers are kept while /etc/passwd and
     * /etc/group are unchanged (same modification time, size and inode), which costs two stat calls instead of
     * reading and splitting both files.
     */
    private static final Map<String, Cached> CACHE = new ConcurrentHashMap<>();
    private static final int CACHE_LIMIT = 256;

    private record Cached(Optional<UserAccount> account, List<Object> stamp) {}

    /** Looks up {@code nameOrUid}: an account name, or a numeric uid present in /etc/passwd. */
    public static Optional<UserAccount> lookup(String nameOrUid) throws IOException {
        List<Object> stamp = List.of(stamp(PASSWD), stamp(GROUP));
        Cached cached = CACHE.get(nameOrUid);
        if (cached != null && cached.stamp().equals(stamp)) {
            return cached.account();
        }
        Optional<UserAccount> account = read(nameOrUid);
        if (CACHE.size() >= CACHE_LIMIT) {
            CACHE.clear();
        }
        CACHE.put(nameOrUid, new Cached(account, stamp));
        return account;
    }

    /** A copy: accounts are shared between lookups. */
    @Override
    public int[] groups() {
        return groups.clone();
    }

    private static List<Object> stamp(Path file) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        return List.of(attributes.lastModifiedTime(), attributes.size(), String.valueOf(attributes.fileKey()));
    }

    private static Optional<UserAccount> read(String nameOrUid) throws IOException {
        for (String line : Files.readAllLines(PASSWD)) {
            String[] f = line.split(":", -1);
            if (f.length < 4 || line.startsWith("#")) {
                continue;
            }
            if (f[0].equals(nameOrUid) || f[2].equals(nameOrUid)) {
                int gid = Integer.parseInt(f[3]);
                return Optional.of(new UserAccount(f[0], Integer.parseInt(f[2]), gid, groupsOf(f[0], gid)));
            }
        }
        return Optional.empty();
    }

    private static int[] groupsOf(String user, int primaryGid) throws IOException {
        List<Integer> gids = new ArrayList<>(List.of(primaryGid));
        for (String line : Files.readAllLines(GROUP)) {
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
