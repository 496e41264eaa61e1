package io.rund.job;

import java.util.List;
import java.util.Optional;

/**
 * The groups a Start asked for ({@code --group}, {@code --groups}), as the client wrote them: each a group name or a
 * numeric gid, resolved and checked against what the daemon allows only where the job is launched
 * ({@link JobGroupPolicy}). {@link #validate} checks what needs no host: syntax, count and size.
 *
 * @param primary       the primary group; empty: the user's own
 * @param supplementary the supplementary groups, exactly these; empty: the user's own
 */
public record GroupRequest(Optional<String> primary, List<String> supplementary) {

    /** No group asked for: the job runs with its user's own groups, as before groups could be asked for. */
    public static final GroupRequest NONE = new GroupRequest(Optional.empty(), List.of());
    /** Longest group name or gid accepted: LOGIN_NAME_MAX (256 with glibc), far above what groupadd allows (32). */
    static final int MAX_NAME_CHARS = 256;
    static final String PRIMARY_FIELD = "group";
    static final String SUPPLEMENTARY_FIELD = "groups";

    public GroupRequest {
        primary = primary == null ? Optional.empty() : primary;
        supplementary = supplementary == null ? List.of() : List.copyOf(supplementary);
    }

    /** Whether anything was asked for. */
    public boolean asked() {
        return primary.isPresent() || !supplementary.isEmpty();
    }

    /** The first problem that needs no host to find: a blank or over-long name, or more than {@code maxGroups}. */
    public Optional<JobError> validate(int maxGroups) {
        if (primary.isPresent()) {
            Optional<String> problem = problem(primary.get());
            if (problem.isPresent()) {
                return Optional.of(JobError.invalid(PRIMARY_FIELD, problem.get()));
            }
        }
        if (supplementary.size() > maxGroups) {
            return Optional.of(JobError.invalid(SUPPLEMENTARY_FIELD, supplementary.size()
                    + " supplementary groups; a job may have at most " + maxGroups + " (rund.jobs.max-groups)"));
        }
        for (int i = 0; i < supplementary.size(); i++) {
            Optional<String> problem = problem(supplementary.get(i));
            if (problem.isPresent()) {
                return Optional.of(JobError.invalid(SUPPLEMENTARY_FIELD + "[" + i + "]", problem.get()));
            }
        }
        return Optional.empty();
    }

    /** {@code name} as a gid if it is one (digits only, within int), else empty: it is a group name. */
    static Optional<Integer> numeric(String name) {
        if (name.isEmpty() || !name.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return Optional.empty();
        }
        try {
            return Optional.of(Integer.parseInt(name));
        } catch (NumberFormatException tooLarge) {
            return Optional.empty();
        }
    }

    private static Optional<String> problem(String name) {
        if (name.isBlank()) {
            return Optional.of("must not be blank: give a group name or a numeric gid");
        }
        if (name.length() > MAX_NAME_CHARS) {
            return Optional.of("a group name of " + name.length() + " characters; at most " + MAX_NAME_CHARS
                    + " are accepted");
        }
        if (name.chars().anyMatch(c -> c == ':' || c == ',' || c == '\n' || c == '\0')) {
            return Optional.of(ClientText.quote(name) + " is no group name (':', ',', newline and NUL cannot be in one)");
        }
        if (name.chars().allMatch(c -> c >= '0' && c <= '9') && numeric(name).isEmpty()) {
            return Optional.of("gid " + ClientText.quote(name) + " is out of range (at most " + Integer.MAX_VALUE + ")");
        }
        return Optional.empty();
    }
}
