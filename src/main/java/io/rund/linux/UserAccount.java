package io.rund.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A local account as the kernel needs it for a job: uid, primary gid and supplementary groups, read from
 * /etc/passwd and /etc/group (local accounts only; rund does not consult NSS).
 */
public record UserAccount(String name, int uid, int gid, int[] groups) {

    private static final Path PASSWD = Path.of("/etc/passwd");
    private static final Path GROUP = Path.of("/etc/group");

    /** Looks up {@code nameOrUid}: an account name, or a numeric uid present in /etc/passwd. */
    public static Optional<UserAccount> lookup(String nameOrUid) throws IOException {
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
