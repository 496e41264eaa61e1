package io.rund.cgroup;

import java.nio.file.Path;

/**
 * The cgroup2 mount exactly as rund finds it ({@link CgroupLocation}: the cgroup2 line of /proc/self/mountinfo), for
 * test helpers outside this package: /sys/fs/cgroup on a pure cgroup v2 host, /sys/fs/cgroup/unified on a hybrid one.
 */
public final class TestCgroupMount {

    private TestCgroupMount() {}

    /** The mount point of the cgroup2 hierarchy this process is in; a CgroupException naming the /proc file if none. */
    public static Path find() throws CgroupException {
        return CgroupLocation.ofCurrentProcess().mount();
    }
}
