package io.rund.job;

import java.util.Collections;
import java.util.Set;

/**
 * The one place that decides who may see a job: a caller whose certificate shares at least one SAN with the
 * certificate that started the job, or a caller holding a configured admin SAN.
 */
public final class Authorizer {

    private final Set<String> adminSans;

    public Authorizer(Set<String> adminSans) {
        this.adminSans = Set.copyOf(adminSans);
    }

    public boolean mayAccess(Set<String> owner, Set<String> caller) {
        return isAdmin(caller) || !Collections.disjoint(owner, caller);
    }

    public boolean isAdmin(Set<String> caller) {
        return !Collections.disjoint(adminSans, caller);
    }
}
