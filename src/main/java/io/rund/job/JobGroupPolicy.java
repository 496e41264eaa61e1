package io.rund.job;

import io.rund.linux.LocalGroups;

import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Decides the groups a job runs with, where it is launched: its user's own (a named account's primary group and its
 * /etc/group memberships; a per-job identity's gid alone), or what its Start asked for, each of which must be one of
 * the user's own groups or one that {@code rund.jobs.allowed-groups} lists. A primary group asked for replaces the
 * user's primary (a per-job identity's gid then goes: its files get the group asked for); supplementary groups asked
 * for replace the user's, exactly. Names are resolved in the host's /etc/group ({@link LocalGroups}).
 */
final class JobGroupPolicy {

    private final GroupSettings settings;
    private final LocalGroups groups;

    JobGroupPolicy(GroupSettings settings, LocalGroups groups) {
        this.settings = settings;
        this.groups = groups;
    }

    /**
     * The groups of a job whose user's own are {@code own}, given {@code request}.
     *
     * @throws JobLauncher.LaunchFailed INVALID_ARGUMENT (GROUP_NOT_FOUND) for a name /etc/group does not have,
     *                                  FAILED_PRECONDITION (PERMISSION_DENIED) for a group the user may not have
     */
    JobGroups resolve(GroupRequest request, JobGroups own) throws JobLauncher.LaunchFailed {
        if (!request.asked()) {
            return own;
        }
        Set<Integer> owned = new LinkedHashSet<>(own.supplementary());
        owned.add(own.gid());
        try {
            int gid = request.primary().isPresent()
                    ? allowed(request.primary().get(), GroupRequest.PRIMARY_FIELD, owned)
                    : own.gid();
            List<Integer> supplementary = own.supplementary();
            if (!request.supplementary().isEmpty()) {
                Set<Integer> asked = new LinkedHashSet<>();
                for (int i = 0; i < request.supplementary().size(); i++) {
                    asked.add(allowed(request.supplementary().get(i), GroupRequest.SUPPLEMENTARY_FIELD, owned));
                }
                supplementary = List.copyOf(asked);
            }
            return new JobGroups(gid, supplementary);
        } catch (IOException e) {
            throw new JobLauncher.LaunchFailed(JobError.unavailable("cannot read the group database " + groups + ": "
                    + e.getMessage()), e);
        }
    }

    /** The gid {@code name} stands for, if the user may have it. */
    private int allowed(String name, String field, Set<Integer> owned) throws IOException, JobLauncher.LaunchFailed {
        int gid = gidOf(name).orElseThrow(() -> new JobLauncher.LaunchFailed(JobError.invalid(field,
                "no group " + ClientText.quote(name) + " in " + groups + " on this host; give a group name it lists"
                        + " or a numeric gid").because(JobError.Reason.GROUP_NOT_FOUND), null));
        if (owned.contains(gid) || allowedGids().contains(gid)) {
            return gid;
        }
        String named = GroupRequest.numeric(name).isPresent() ? "gid " + gid : "group " + ClientText.quote(name)
                + " (gid " + gid + ")";
        throw new JobLauncher.LaunchFailed(JobError.precondition(field, "this server does not let jobs run with "
                + named + ": it is not one of the user's own groups, and rund.jobs.allowed-groups does not list it")
                .because(JobError.Reason.PERMISSION_DENIED), null);
    }

    private OptionalInt gidOf(String name) throws IOException {
        java.util.Optional<Integer> number = GroupRequest.numeric(name);
        return number.isPresent() ? OptionalInt.of(number.get()) : groups.gidOf(name);
    }

    /** The gids rund.jobs.allowed-groups names now: a name /etc/group no longer has allows nothing. */
    private Set<Integer> allowedGids() throws IOException {
        Set<Integer> gids = new LinkedHashSet<>();
        for (String entry : settings.allowed()) {
            OptionalInt gid = gidOf(entry);
            if (gid.isPresent()) {
                gids.add(gid.getAsInt());
            }
        }
        return gids;
    }
}
