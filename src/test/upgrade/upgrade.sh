#!/usr/bin/env bash
# Adoption across an upgrade (issue 11): builds rund from an earlier commit of this repository in a temporary git
# worktree (offline, as CI's clean clone holds the history and the Maven repository), then runs
# io.rund.api.UpgradeAdoptionTest, which starts THAT build's daemon with jobs, kills it (kill -9; then, in a second
# round, SIGTERM with RUND_ON_EXIT=keep) and checks that a daemon of THIS build adopts them: every job running or
# reported with its real exit, logs byte-exact, a follower resumed by offset. The old rund-keeper keeps running and
# holds the jobs; the new daemon speaks its protocol. Removes the worktree on any exit; the test removes its daemons,
# jobs, cgroups and state directories itself (by pid and by its own cgroup subtree), even when it fails.
set -euo pipefail
cd "$(dirname "$0")/../../.."

# The earlier build: main when the upgrade test was written. It has the fix that made SIGTERM with on-daemon-exit =
# keep leave running jobs' logs unsealed (older commits seal them, and the next daemon cannot adopt those jobs).
OLD_COMMIT=${RUND_UPGRADE_FROM:-ac64125}

. bin/jdk25.sh
. bin/example-keys.sh
protect_example_keys .

work=$(mktemp -d /tmp/rund-upgrade.XXXXXX)
cleanup() {
    git worktree remove --force "$work/old" >/dev/null 2>&1 || true
    rm -rf "$work"
    git worktree prune
}
trap cleanup EXIT

echo "upgrade: building rund at $OLD_COMMIT ($(git log -1 --format='%h %cs' "$OLD_COMMIT"))..." >&2
git worktree add --detach "$work/old" "$OLD_COMMIT" >/dev/null
(cd "$work/old" && ./mvnw -o -q -B -DskipTests package)
old_classpath="$work/old/target/rund.jar:$(cat "$work/old/target/classpath.txt")"

echo "upgrade: adoption by this build ($(git rev-parse --short HEAD)) of the jobs of $OLD_COMMIT's daemon" >&2
./mvnw -B -ntp test -Dtest=UpgradeAdoptionTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Drund.upgrade.old-classpath="$old_classpath" -Drund.upgrade.old-commit="$OLD_COMMIT"
