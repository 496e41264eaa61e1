package io.rund.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * The file-system credentials a running process has (its fsuid, fsgid and supplementary groups, from
 * /proc/PID/status), and its working directory: what a check made on a running job's behalf (an io device named in
 * a limit change) must use, so that it answers only what the job itself could learn.
 */
public final class ProcessCredentials {
    private static final Path PROC = Path.of("/proc");
    /** Uid: and Gid: lines list real, effective, saved and file-system ids, in that order. */
    private static final int FS_ID_COLUMN = 4;

    private ProcessCredentials() {}

    /** Process {@code pid}'s credentials, or empty if it is gone. */
    public static Optional<FsCredentials> of(int pid) throws IOException {
        int uid = -1;
        int gid = -1;
        int[] groups = new int[0];
        try {
            for (String line : Files.readAllLines(PROC.resolve(Integer.toString(pid)).resolve("status"))) {
                if (line.startsWith("Uid:")) {
                    uid = fsId(line);
                } else if (line.startsWith("Gid:")) {
                    gid = fsId(line);
                } else if (line.startsWith("Groups:")) {
                    String list = line.substring("Groups:".length()).strip();
                    groups = list.isEmpty() ? new int[0]
                            : Arrays.stream(list.split("\\s+")).mapToInt(Integer::parseInt).toArray();
                }
            }
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (uid < 0 || gid < 0) {
            throw new IOException("/proc/" + pid + "/status has no Uid: or Gid: line");
        }
        return Optional.of(new FsCredentials(uid, gid, groups));
    }

    /** Process {@code pid}'s working directory, or empty if it is gone. */
    public static Optional<Path> workingDirectory(int pid) throws IOException {
        try {
            return Optional.of(Files.readSymbolicLink(PROC.resolve(Integer.toString(pid)).resolve("cwd")));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    private static int fsId(String line) {
        String[] columns = line.split("\\s+");
        return Integer.parseInt(columns[FS_ID_COLUMN]);
    }
}
