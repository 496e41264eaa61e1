package io.rund.job;

import com.typesafe.config.Config;

import java.util.Set;

/**
 * Which groups a job may be given beyond its user's own ({@code rund.jobs.allowed-groups}, names or gids, as
 * {@code rund.jobs.allowed-users} lists accounts) and how many supplementary groups a Start may name
 * ({@code rund.jobs.max-groups}), read once. A gid of the per-job identity range is refused here: it is another
 * job's own group.
 *
 * @param allowed   group names (from /etc/group) and numeric gids any job may ask for
 * @param maxGroups the most supplementary groups one Start may name (the kernel's NGROUPS_MAX is 65536)
 */
public record GroupSettings(Set<String> allowed, int maxGroups) {

    /** The kernel's NGROUPS_MAX: setgroups refuses more. */
    static final int KERNEL_MAX_GROUPS = 65536;

    public GroupSettings {
        allowed = Set.copyOf(allowed);
        if (maxGroups < 0 || maxGroups > KERNEL_MAX_GROUPS) {
            throw new IllegalArgumentException("rund.jobs.max-groups must be between 0 and " + KERNEL_MAX_GROUPS
                    + " (the kernel's NGROUPS_MAX), was " + maxGroups);
        }
        for (String group : allowed) {
            if (group.isBlank() || group.length() > GroupRequest.MAX_NAME_CHARS
                    || (group.chars().allMatch(Character::isDigit) && GroupRequest.numeric(group).isEmpty())) {
                throw new IllegalArgumentException("rund.jobs.allowed-groups (RUND_ALLOWED_GROUPS): "
                        + ClientText.quote(group) + " is neither a group name nor a gid");
            }
        }
    }

    /** Reads {@code rund.jobs.allowed-groups} and {@code rund.jobs.max-groups}, refusing a gid of the identity range. */
    public static GroupSettings fromConfig(Config rund) {
        Config jobs = rund.getConfig("jobs");
        GroupSettings settings = new GroupSettings(Set.copyOf(JobSettings.stringList(jobs, "allowed-groups")),
                jobs.getInt("max-groups"));
        int first = rund.getInt("jobs.identities.first-id");
        int last = rund.getInt("jobs.identities.last-id");
        for (String group : settings.allowed()) {
            Integer gid = GroupRequest.numeric(group).orElse(null);
            if (gid != null && gid >= first && gid <= last) {
                throw new IllegalArgumentException("rund.jobs.allowed-groups (RUND_ALLOWED_GROUPS): gid " + gid
                        + " is in rund.jobs.identities (" + first + "-" + last + "), the per-job users' own groups;"
                        + " allow a group outside that range");
            }
        }
        return settings;
    }
}
