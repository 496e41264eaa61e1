# shellcheck shell=bash
# Three (or more) hosts on one machine for rund's cluster tests: a sourced library, not a script.
#
# Per run: a random id, a bridge in the root network namespace (the client side, 10.77.X.254) and one network
# namespace per node (nodeN at 10.77.X.N, a veth pair into the bridge, loopback up), X random so concurrent runs don't
# collide; per-run certificates made with openssl (a CA, an API server and a node certificate per node, users alice,
# bob, carol, admin); one `bin/rund serve` per namespace with its own state directory and cgroup root under the run's
# own cgroup v2 subtree; helpers to partition and heal a node, kill -9 a daemon and restart it, and run the CLI as a
# user against a node. netns_down removes everything the run made, and netns_up first removes what runs that died
# left behind (their processes by recorded pid, checked to carry the run's id, their namespaces, links and cgroups).
#
# Shell, not JUnit: everything it drives is a process (ip, nsenter, openssl, the CLI, kill -STOP), a trap cleans up
# on failure and on Ctrl-C alike, and a person can source it to get the same three nodes by hand.
#
# Daemons run under `nsenter --net`, not `ip netns exec`: the latter remounts /sys in a mount namespace of its own,
# which hides every cgroup mount beneath it (measured here: no cgroup2 left in /proc/self/mountinfo), so rund
# would find no cgroup v2 to run jobs in.

NETNS_ROOT=${NETNS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
# Where each run records what it made, so that a later run can remove it if this one dies before its trap runs.
NETNS_REGISTRY=/run/rund-netns
NETNS_PREFIX=rund-netns
NETNS_API_PORT=8000
NETNS_CLUSTER_PORT=7355
# The client side's address in every run's subnet.
NETNS_CLIENT_HOST=254
# Each node's jobs run as uids of a range of its own (three daemons on one host: "one rund per range").
NETNS_UID_BASE=200000
NETNS_UID_SPAN=10000
NETNS_READY_TIMEOUT=${NETNS_READY_TIMEOUT:-180}
# Three JVMs (and the CLI's) inside 2 cores.
NETNS_JAVA_OPTS=${NETNS_JAVA_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m}
NETNS_ADMIN_SAN="DNS:admin.example"

# Why this machine cannot run the namespace tests (empty when it can).
netns_skip_reason() {
    [ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, cgroups); running as uid $(id -u)"; return; }
    local tool
    for tool in ip nsenter openssl sha256sum python3; do
        command -v "$tool" >/dev/null 2>&1 || { echo "needs $tool, which is not installed"; return; }
    done
    [ -n "$(netns_cgroup2_mount)" ] || { echo "no cgroup2 mount in /proc/self/mountinfo"; return; }
    if ! ip netns add "$NETNS_PREFIX-probe-$$" 2>/dev/null; then
        echo "cannot create network namespaces here (ip netns add failed)"
        return
    fi
    ip netns del "$NETNS_PREFIX-probe-$$"
}

# The cgroup2 mount point, found as rund finds it (pure v2: /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified).
netns_cgroup2_mount() {
    awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
        /proc/self/mountinfo | head -n 1
}

netns_log() { echo "netns: $*" >&2; }

# A /24 in 10.77.0.0/16 that no address or route of this host uses yet.
netns_free_subnet() {
    local x tries
    for tries in $(seq 1 200); do
        x=$(( (RANDOM % 254) + 1 ))
        if ! ip -4 -o addr show | grep -q " 10\.77\.$x\." && ! ip -4 route show | grep -q "^10\.77\.$x\."; then
            echo "10.77.$x"
            return 0
        fi
    done
    return 1
}

netns_ns() { echo "$NETNS_PREFIX-$NETNS_ID-node$1"; }
netns_ip() { echo "$NETNS_NET.$1"; }
netns_addr() { echo "$NETNS_NET.$1:$NETNS_API_PORT"; }
netns_cluster_addr() { echo "$NETNS_NET.$1:$NETNS_CLUSTER_PORT"; }
netns_node_dir() { echo "$NETNS_WORK/node$1"; }
netns_pid() { cat "$(netns_node_dir "$1")/pid" 2>/dev/null; }
netns_serve_log() { echo "$(netns_node_dir "$1")/serve.log"; }
netns_seeds() {
    local n seeds=""
    for n in $(seq 1 "$NETNS_SEED_NODES"); do seeds="$seeds${seeds:+,}$(netns_cluster_addr "$n")"; done
    echo "$seeds"
}

# Records a pid this run started (a daemon, a background CLI) so that netns_down, or a later run, can kill it.
netns_own_pid() { echo "$1" >>"$NETNS_RUN/pids"; }

# netns_up NODES: the bridge, NODES namespaces, certificates and the run's cgroup subtree; sets NETNS_ID, NETNS_NET,
# NETNS_WORK (files), NETNS_RUN (the registry entry), NETNS_TLS, NETNS_CGROUP. Nodes 1-3 are the seeds.
netns_up() {
    local nodes=$1 n ns veth mount
    NETNS_NODES=$nodes
    NETNS_SEED_NODES=$(( nodes < 3 ? nodes : 3 ))
    netns_clean_stale
    NETNS_ID=$(openssl rand -hex 3)
    NETNS_NET=$(netns_free_subnet) || { netns_log "no free 10.77.X.0/24 subnet"; return 1; }
    NETNS_WORK=$(mktemp -d "/tmp/$NETNS_PREFIX-$NETNS_ID.XXXXXX")
    NETNS_TLS=$NETNS_WORK/tls
    mount=$(netns_cgroup2_mount)
    NETNS_CGROUP=$mount/$NETNS_PREFIX-$NETNS_ID
    NETNS_BRIDGE=rbr-$NETNS_ID
    NETNS_RUN=$NETNS_REGISTRY/$NETNS_ID
    mkdir -p "$NETNS_RUN"
    # Written before anything is made: a run that dies half-way is still found and removed.
    cat >"$NETNS_RUN/run" <<RUN
NETNS_ID=$NETNS_ID
NETNS_OWNER=$$
NETNS_OWNER_START=$(netns_start_time $$)
NETNS_WORK=$NETNS_WORK
NETNS_CGROUP=$NETNS_CGROUP
NETNS_BRIDGE=$NETNS_BRIDGE
NETNS_NODES=$nodes
RUN
    : >"$NETNS_RUN/pids"
    netns_log "run $NETNS_ID: bridge $NETNS_BRIDGE at $NETNS_NET.$NETNS_CLIENT_HOST, $nodes namespaces, files in $NETNS_WORK"
    ip link add "$NETNS_BRIDGE" type bridge
    ip addr add "$NETNS_NET.$NETNS_CLIENT_HOST/24" dev "$NETNS_BRIDGE"
    ip link set "$NETNS_BRIDGE" up
    for n in $(seq 1 "$nodes"); do
        ns=$(netns_ns "$n")
        veth=rv$NETNS_ID$n
        ip netns add "$ns"
        ip link add "$veth" type veth peer name eth0 netns "$ns"
        ip link set "$veth" master "$NETNS_BRIDGE" up
        ip -n "$ns" addr add "$(netns_ip "$n")/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
        mkdir -p "$(netns_node_dir "$n")"
    done
    mkdir "$NETNS_CGROUP"
    netns_make_certs
    netns_write_cli
}

# The start time (clock ticks since boot) of a pid, to tell it from a later process with the same number.
netns_start_time() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null; }

# Kills pid $2 if it still carries run $1's id in its environment (every process the harness starts does), so a pid
# reused by someone else's process is never touched.
netns_kill_if_ours() {
    local id=$1 pid=$2
    [ -r "/proc/$pid/environ" ] || return 0
    if grep -qsxz -a "RUND_NETNS_RUN=$id" "/proc/$pid/environ"; then
        kill -CONT "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

# Removes what run directory $1 recorded: processes, cgroups (jobs and keepers inside killed first), namespaces,
# links, files. Works for this run and for runs that died.
netns_teardown() {
    local dir=$1 pid cg n ns
    local NETNS_ID NETNS_WORK NETNS_CGROUP NETNS_BRIDGE NETNS_NODES NETNS_OWNER NETNS_OWNER_START
    # shellcheck disable=SC1091
    . "$dir/run"
    while read -r pid; do
        [ -n "$pid" ] && netns_kill_if_ours "$NETNS_ID" "$pid"
    done <"$dir/pids"
    # And every other process started for this run (a CLI a test ran in the foreground when the run was interrupted):
    # each carries RUND_NETNS_RUN=<id> from netns_start or rund-at.
    for pid in $(grep -lsxz -a "RUND_NETNS_RUN=$NETNS_ID" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
        netns_kill_if_ours "$NETNS_ID" "$pid"
    done
    if [ -d "$NETNS_CGROUP" ]; then
        # Deepest first: cgroup.kill takes every process below, the jobs' and rund-keeper's.
        while read -r cg; do
            [ -f "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill" 2>/dev/null
        done < <(find "$NETNS_CGROUP" -depth -type d)
        while read -r cg; do
            for _ in $(seq 1 200); do
                rmdir "$cg" 2>/dev/null && break
                sleep 0.05
            done
        done < <(find "$NETNS_CGROUP" -depth -type d)
        [ ! -d "$NETNS_CGROUP" ] || netns_log "could not remove $NETNS_CGROUP"
    fi
    for n in $(seq 1 "$NETNS_NODES"); do
        ns=$NETNS_PREFIX-$NETNS_ID-node$n
        ip netns del "$ns" 2>/dev/null || true
        ip link del "rv$NETNS_ID$n" 2>/dev/null || true
    done
    ip link del "$NETNS_BRIDGE" 2>/dev/null || true
    case "$NETNS_WORK" in
        /tmp/$NETNS_PREFIX-$NETNS_ID.*) rm -rf "$NETNS_WORK" ;;
    esac
    rm -rf "$dir"
}

# Removes what earlier runs left: a run whose owner process is gone (a crash, kill -9, a CI timeout).
netns_clean_stale() {
    local dir owner start
    [ -d "$NETNS_REGISTRY" ] || return 0
    for dir in "$NETNS_REGISTRY"/*/; do
        [ -f "$dir/run" ] || continue
        owner=$(sed -n 's/^NETNS_OWNER=//p' "$dir/run")
        start=$(sed -n 's/^NETNS_OWNER_START=//p' "$dir/run")
        if [ -n "$owner" ] && [ "$(netns_start_time "$owner")" = "$start" ]; then
            continue
        fi
        netns_log "removing what run $(basename "$dir") left behind (its owner, pid $owner, is gone)"
        netns_teardown "${dir%/}"
    done
}

# Everything this run made, removed; safe to call twice.
netns_down() {
    [ -n "${NETNS_RUN:-}" ] && [ -d "$NETNS_RUN" ] || return 0
    netns_teardown "$NETNS_RUN"
    netns_log "run $NETNS_ID removed: namespaces, links, daemons, jobs, cgroups, files"
}

netns_key() { # FILE
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
        -out "$1" 2>/dev/null)
    chmod 600 "$1"
}

netns_leaf() { # NAME CN SANS EKU
    local dir=$NETNS_TLS
    netns_key "$dir/$1-key.pem"
    openssl req -new -sha256 -key "$dir/$1-key.pem" -subj "/O=rund netns test/CN=$2" -out "$dir/$1.csr"
    cat >"$dir/$1.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$4
subjectAltName=$3
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
    openssl x509 -req -sha256 -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
        -set_serial "0x$(openssl rand -hex 16)" -days 2 -extfile "$dir/$1.ext" -out "$dir/$1.pem" 2>/dev/null
    rm -f "$dir/$1.csr" "$dir/$1.ext"
}

# The run's own PKI (never the example keys): a CA; per node an API server certificate for its address and a node
# certificate (URI SAN spiffe://rund/node/nodeN, EKU serverAuth and clientAuth); users alice and bob (sharing the SAN
# spiffe://rund/team-a), carol (disjoint) and admin (in RUND_ADMIN_SANS). Keys 0600.
netns_make_certs() {
    local n
    mkdir -p "$NETNS_TLS"
    netns_key "$NETNS_TLS/ca-key.pem"
    openssl req -x509 -new -sha256 -key "$NETNS_TLS/ca-key.pem" -days 2 -subj "/O=rund netns test/CN=CA $NETNS_ID" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$NETNS_TLS/ca.pem"
    for n in $(seq 1 "$NETNS_NODES"); do
        netns_leaf "node$n-api" "node$n API" "DNS:node$n,IP:$(netns_ip "$n")" serverAuth
        netns_leaf "node$n" "node$n" "URI:spiffe://rund/node/node$n,DNS:node$n,IP:$(netns_ip "$n")" serverAuth,clientAuth
    done
    netns_leaf alice alice "DNS:alice.example,URI:spiffe://rund/team-a" clientAuth
    netns_leaf bob bob "DNS:bob.example,URI:spiffe://rund/team-a" clientAuth
    netns_leaf carol carol "DNS:carol.example" clientAuth
    netns_leaf admin admin "$NETNS_ADMIN_SAN" clientAuth
}

# netns_start N [VAR=VALUE...]: `bin/rund serve` in node N's namespace (a restart reuses its state directory and cgroup
# root, as a restart on the same host would), with node N's cluster settings; extra VAR=VALUE override them (a test's
# intruder takes a user certificate as its node certificate). Returns once the daemon serves, or fails naming its log.
netns_start() {
    local n=$1 dir log pid waited
    shift
    dir=$(netns_node_dir "$n")
    log=$(netns_serve_log "$n")
    mkdir -p "$dir"
    [ ! -f "$log" ] || mv "$log" "$dir/serve.$(date +%s%N).log"
    env RUND_NETNS_RUN="$NETNS_ID" \
        RUND_STATE_DIR="$dir/state" \
        RUND_JOB_HOME_ROOT="$dir/home" \
        RUND_CGROUP_ROOT="$NETNS_CGROUP/node$n" \
        RUND_JOB_FIRST_ID=$((NETNS_UID_BASE + n * NETNS_UID_SPAN)) \
        RUND_JOB_LAST_ID=$((NETNS_UID_BASE + (n + 1) * NETNS_UID_SPAN - 1)) \
        RUND_ADMIN_SANS="$NETNS_ADMIN_SAN" \
        RUND_STOP_GRACE=2s \
        RUND_NODE_NAME="node$n" \
        RUND_NODE_INDEX="$n" \
        RUND_CLUSTER_ADDR="$(netns_cluster_addr "$n")" \
        RUND_CLUSTER_SEEDS="$(netns_seeds)" \
        RUND_NODE_CERT="$NETNS_TLS/node$n.pem" \
        RUND_NODE_KEY="$NETNS_TLS/node$n-key.pem" \
        RUND_JAVA_OPTS="$NETNS_JAVA_OPTS" \
        "$@" \
        nsenter --net="/run/netns/$(netns_ns "$n")" -- \
        "$NETNS_ROOT/bin/rund" serve --addr "$(netns_addr "$n")" --ca "$NETNS_TLS/ca.pem" \
        --cert "$NETNS_TLS/node$n-api.pem" --key "$NETNS_TLS/node$n-api-key.pem" >"$log" 2>&1 </dev/null &
    pid=$!
    # Out of the job table: bash reports no "Killed" line when a test kills it; netns_alive polls /proc instead.
    disown "$pid"
    netns_own_pid "$pid"
    echo "$pid" >"$dir/pid"
    for waited in $(seq 1 "$NETNS_READY_TIMEOUT"); do
        grep -qs "rund serves on" "$log" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            netns_log "node$n's daemon exited before serving; its log ($log):"
            tail -n 30 "$log" >&2
            return 1
        fi
        sleep 1
    done
    netns_log "node$n's daemon did not serve within ${waited} s; its log ($log):"
    tail -n 30 "$log" >&2
    return 1
}

# Whether node N's daemon process is alive (and not a zombie).
netns_alive() {
    local pid state
    pid=$(netns_pid "$1")
    [ -n "$pid" ] || return 1
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ]
}

# Waits until node N's daemon is gone (or a zombie), at most $2 seconds.
netns_await_exit() {
    local n=$1 tenths=$(( $2 * 10 ))
    while netns_alive "$n" && [ "$tenths" -gt 0 ]; do
        sleep 0.1
        tenths=$((tenths - 1))
    done
    ! netns_alive "$n"
}

# kill -9 of node N's daemon (a crash: its jobs and rund-keeper keep running); returns once it is gone.
netns_kill9() {
    kill -KILL "$(netns_pid "$1")"
    netns_await_exit "$1" 30
}

# SIGTERM to node N's daemon (its jobs stopped); returns once it is gone.
netns_stop() {
    netns_alive "$1" || return 0
    kill -TERM "$(netns_pid "$1")"
    netns_await_exit "$1" 120
}

# Cuts node N off from everyone (silent loss: its one link goes down, packets are dropped), and heals it.
netns_partition() { ip -n "$(netns_ns "$1")" link set dev eth0 down; }
netns_heal() { ip -n "$(netns_ns "$1")" link set dev eth0 up; }

# Each node's daemon alive and its link up (a scenario that failed half-way must not spoil the next one).
netns_ensure_up() {
    local n
    for n in $(seq 1 "$NETNS_SEED_NODES"); do
        netns_heal "$n"
        netns_alive "$n" || netns_start "$n" || return 1
    done
}

# netns_cli N USER ARGS...: the CLI in the root namespace against node N's API, as USER (alice, bob, carol, admin).
netns_cli() { "$NETNS_WORK/rund-at" "$@"; }

# $NETNS_WORK/rund-at N USER ARGS...: netns_cli as a script, for background jobs, timeout(1) and people.
netns_write_cli() {
    cat >"$NETNS_WORK/rund-at" <<CLI
#!/bin/sh
# rund-at N USER ARGS...: rund's CLI against node N of namespace run $NETNS_ID, as USER (alice, bob, carol, admin).
n=\$1 user=\$2
shift 2
# RUND_AGENT=off: the scenarios look at the CLI process's own connections (connected_to) and end CLIs by pid, so
# each command runs in a JVM of its own; the agent path is proven by CliAgentTest and the README smoke test.
RUND_AGENT=off RUND_NETNS_RUN=$NETNS_ID exec "$NETNS_ROOT/bin/rund" --addr "$NETNS_NET.\$n:$NETNS_API_PORT" --ca "$NETNS_TLS/ca.pem" \\
    --cert "$NETNS_TLS/\$user.pem" --key "$NETNS_TLS/\$user-key.pem" "\$@"
CLI
    chmod 755 "$NETNS_WORK/rund-at"
}

# /proc/PID/status VmRSS of node N's daemon, in KiB.
netns_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$(netns_pid "$1")/status"; }
