package io.rund.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where the unified (cgroup2) hierarchy is mounted and which cgroup a process is in, read from
 * /proc/self/mountinfo (fstype cgroup2) and /proc/self/cgroup (the "0::/path" line).
 *
 * @param mount       the cgroup2 mount point, e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified
 * @param ownCgroup   the process's own cgroup as a directory under {@code mount}
 */
record CgroupLocation(Path mount, Path ownCgroup) {
    static final Path PROC_SELF_MOUNTINFO = Path.of("/proc/self/mountinfo");
    static final Path PROC_SELF_CGROUP = Path.of("/proc/self/cgroup");
    private static final String UNIFIED_LINE_PREFIX = "0::";
    private static final String DELETED_SUFFIX = " (deleted)";
    private static final String MOUNTINFO_SEPARATOR = "-";
    private static final int MOUNTINFO_ROOT_FIELD = 3;
    private static final int MOUNTINFO_MOUNT_POINT_FIELD = 4;

    /** The calling process's location. */
    static CgroupLocation ofCurrentProcess() throws CgroupException {
        return of(lines(PROC_SELF_MOUNTINFO), lines(PROC_SELF_CGROUP));
    }

    static CgroupLocation of(List<String> mountinfo, List<String> procCgroup) throws CgroupException {
        String own = procCgroup.stream()
                .filter(line -> line.startsWith(UNIFIED_LINE_PREFIX))
                .map(line -> line.substring(UNIFIED_LINE_PREFIX.length()))
                .map(path -> path.endsWith(DELETED_SUFFIX) ? path.substring(0, path.length() - DELETED_SUFFIX.length()) : path)
                .findFirst()
                .orElseThrow(() -> new CgroupException(PROC_SELF_CGROUP,
                        "no \"0::\" line: this process is in no cgroup v2 hierarchy"));
        for (String line : mountinfo) {
            String[] fields = line.split(" ");
            int separator = List.of(fields).indexOf(MOUNTINFO_SEPARATOR);
            if (separator < 0 || separator + 1 >= fields.length || !fields[separator + 1].equals("cgroup2")) {
                continue;
            }
            String mountRoot = unescape(fields[MOUNTINFO_ROOT_FIELD]);
            Path mount = Path.of(unescape(fields[MOUNTINFO_MOUNT_POINT_FIELD]));
            Path ownPath = Path.of(own);
            Path rootPath = Path.of(mountRoot);
            if (ownPath.startsWith(rootPath)) {
                return new CgroupLocation(mount, mount.resolve(rootPath.relativize(ownPath).toString()));
            }
        }
        throw new CgroupException(PROC_SELF_MOUNTINFO, "no cgroup2 mount shows this process's cgroup " + own);
    }

    private static List<String> lines(Path file) throws CgroupException {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new CgroupException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    /** mountinfo escapes space, tab, newline and backslash as a backslash and three octal digits. */
    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String text, int from) {
        if (from + 3 > text.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (text.charAt(i) < '0' || text.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
