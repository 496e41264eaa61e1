#!/bin/sh
# rund's container entrypoint. In its own cgroup namespace the container's processes sit in the namespace's root
# cgroup ("0::/"), where cgroup v2's no-internal-processes rule lets no controller be enabled for children while
# processes live there. So, as moby's dind script does, it first moves every process of that cgroup (the init and
# itself) into a leaf, "init", and enables every available controller for the children; rund then makes its subtree
# (RUND_CGROUP_ROOT, /sys/fs/cgroup/rund) beside it. Needs a privileged container (cgroup2 mounted read-write).
set -eu
cgroup=/sys/fs/cgroup
if [ -f "$cgroup/cgroup.controllers" ] && [ -w "$cgroup/cgroup.procs" ]; then
    mkdir -p "$cgroup/init"
    # A process may start or exit between the read and the write: a few rounds, until the root cgroup holds none
    # (cgroupfs files report size 0, so read them rather than test -s).
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -n "$(cat "$cgroup/cgroup.procs")" ] || break
        while read -r pid; do
            echo "$pid" >"$cgroup/init/cgroup.procs" 2>/dev/null || true
        done <"$cgroup/cgroup.procs"
    done
    controllers=$(sed -e 's/\([^ ]*\)/+\1/g' "$cgroup/cgroup.controllers")
    [ -z "$controllers" ] || echo "$controllers" >"$cgroup/cgroup.subtree_control"
else
    echo "rund entrypoint: $cgroup is not a writable cgroup v2 mount; run the container privileged on a cgroup v2 host" >&2
fi
exec java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow ${RUND_JAVA_OPTS:-} \
    -cp "/opt/rund/rund.jar:/opt/rund/lib/*" io.rund.cli.RundCli "$@"
