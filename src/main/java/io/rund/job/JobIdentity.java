package io.rund.job;

import java.nio.file.Path;

/**
 * The user a job without an account runs as, for the job's life: a uid and a gid of its own (the same number),
 * no supplementary groups, a user name for USER and LOGNAME (no passwd entry has it), and a private home.
 */
public record JobIdentity(int uid, Path home) {

    /** The group id: the same number as the uid. */
    public int gid() {
        return uid;
    }

    /** What the job's USER and LOGNAME say. */
    public String userName() {
        return "rund-" + uid;
    }
}
