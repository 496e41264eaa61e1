package io.rund.cluster;

import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Node index and name uniqueness, decided the same way on every member from the membership alone: of two members at
 * different addresses with the same index (or name), the holder is the one that was Up first (or, both joining, the
 * lower address); the other is a duplicate, kept out of every directory and downed. Pekko's join check
 * (JoinConfigCompatChecker) sees only the two nodes' configurations, never the members, so it cannot tell this.
 */
final class DuplicateMembers {

    private DuplicateMembers() {}

    /** A member refused because {@code holder} has its index or name; {@code what} names which, for the log. */
    record Duplicate(Member member, Member holder, String what) {}

    /**
     * Every duplicate among {@code members}, by the duplicate member's address (the holders are not in it). Holders are
     * chosen among the members joining or up; a member already on its way out is still a duplicate of such a holder.
     */
    static Map<org.apache.pekko.cluster.UniqueAddress, Duplicate> find(Collection<Member> members) {
        Map<Integer, Member> byIndex = new HashMap<>();
        Map<String, Member> byName = new HashMap<>();
        for (Member member : members) {
            if (!counts(member)) {
                continue;
            }
            NodeDirectory.index(member).ifPresent(index -> byIndex.merge(index, member, DuplicateMembers::holder));
            NodeDirectory.nameRole(member).ifPresent(name -> byName.merge(name, member, DuplicateMembers::holder));
        }
        Map<org.apache.pekko.cluster.UniqueAddress, Duplicate> duplicates = new HashMap<>();
        for (Member member : members) { // whatever its status: one already downed is still no peer
            Optional<Integer> index = NodeDirectory.index(member);
            Optional<String> name = NodeDirectory.nameRole(member);
            Member indexHolder = index.map(byIndex::get).orElse(member);
            Member nameHolder = name.map(byName::get).orElse(member);
            if (!indexHolder.address().equals(member.address())) {
                duplicates.put(member.uniqueAddress(), new Duplicate(member, indexHolder, "node index " + index.get()));
            } else if (!nameHolder.address().equals(member.address())) {
                duplicates.put(member.uniqueAddress(), new Duplicate(member, nameHolder, "node name " + name.get()));
            }
        }
        return duplicates;
    }

    /** Members on their way out hold nothing: a host that restarts comes back at its own address with a new uid. */
    private static boolean counts(Member member) {
        MemberStatus status = member.status();
        return status == MemberStatus.joining() || status == MemberStatus.weaklyUp() || status == MemberStatus.up();
    }

    private static boolean isUp(Member member) {
        return member.status() == MemberStatus.up();
    }

    /** Which of two members with the same index or name holds it (the same answer on every node). */
    private static Member holder(Member a, Member b) {
        if (a.address().equals(b.address())) {
            return a; // one host's incarnations: Pekko replaces the old one, no conflict
        }
        if (isUp(a) != isUp(b)) {
            return isUp(a) ? a : b;
        }
        if (isUp(a)) {
            return a.isOlderThan(b) ? a : b;
        }
        return NodeDirectory.hostPort(a.address()).compareTo(NodeDirectory.hostPort(b.address())) <= 0 ? a : b;
    }
}
