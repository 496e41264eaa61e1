# shellcheck shell=bash
# The namespace scenarios (issue 13 point 10(b)), sourced by run.sh after netns.sh. Each test_* function is one test
# run in a subshell of its own: it fails with `fail REASON`, skips with `skip REASON`, and may leave the nodes in any
# state (run.sh brings every daemon back up and heals every link before the next one). Clients are the real CLI in
# the root namespace against a node's API address, as users alice, bob (sharing a SAN with alice), carol (disjoint)
# and admin.
#
# Two families. "standalone_*" prove the harness with what every build has: each node serves its own jobs (three
# islands), kill -9 and restart, a partition that makes a node unreachable. "cluster_*" are issue 13's cross-node
# scenarios, written to the cluster contract (DESIGN.md: --host, "host" in status, `rund nodes`, UNAVAILABLE naming
# the host); they skip, saying so, on a build without cluster mode (`rund nodes` unknown).

# The CLI's exit codes (README, "Exit codes").
EXIT_NOT_FOUND=120
EXIT_UNAVAILABLE=122
EXIT_SIGTERM=143
# How long the issue allows between a host's loss and UNAVAILABLE naming it.
NODE_LOSS_SECONDS=10
# Bounded waits (not thresholds): generous for three JVMs on two loaded cores.
SETTLE_SECONDS=120
# A job that writes one numbered line every 100 ms until stopped: its log shows any gap or repeat.
TICKER='i=0; while :; do i=$((i+1)); echo line-$i; sleep 0.1; done'
HUNDRED_MB=104857600
# Lines of `seq` are all different, so a lost, repeated or reordered chunk changes the digest.
SEQ_LINES=40000000

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
note() { echo "  $*" >&2; }

# A field of the one JSON object on stdin (python3: the status JSON is one line, fields in any order).
# Nothing (not a traceback) when stdin is not JSON: the CLI failed, and its own line on stderr says why.
json_field() {
    python3 -c '
import json, sys
try:
    v = json.load(sys.stdin).get(sys.argv[1])
except ValueError:
    sys.exit(1)
print("" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1"
}

# wait_until SECONDS WHAT CMD...: polls CMD (every half second) until it succeeds; fails naming WHAT otherwise. CMD's
# arguments are expanded once, so what must be read again each time goes in a function (file_has_lines, logs_are).
wait_until() {
    local seconds=$1 what=$2 deadline
    shift 2
    deadline=$(( $(date +%s) + seconds ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "$what: not within $seconds s"
        sleep 0.5
    done
}

# expect_exit CODE WHAT CMD...: runs CMD (stdout discarded), its stderr kept in $ERR; fails unless it exits CODE.
expect_exit() {
    local want=$1 what=$2 got
    shift 2
    ERR=$(mktemp "$NETNS_WORK/err.XXXXXX")
    set +e
    "$@" >/dev/null 2>"$ERR"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want ($(head -c 300 "$ERR"))"
}

state_of() { netns_cli "$1" "$2" status "$3" | json_field state; }
is_state() { [ "$(state_of "$1" "$2" "$3")" = "$4" ]; }
lines_of() { netns_cli "$1" "$2" logs "$3" 2>/dev/null | grep -c '^line-' || true; }
more_lines_than() { [ "$(lines_of "$1" "$2" "$3")" -gt "$4" ]; }

file_lines() { wc -l <"$1"; }
file_has_lines() { [ "$(file_lines "$1")" -ge "$2" ]; }
logs_are() { [ "$(netns_cli "$1" "$2" logs "$3" 2>/dev/null)" = "$4" ]; }

# Whether the ticker's output in file $1 is line-1, line-2, ... with no gap and no repeat.
consecutive() { awk '$0 != "line-" NR { bad = 1; exit } END { exit bad || NR == 0 }' "$1"; }

# The job's cgroup under node N's root is populated: its processes run, whatever any daemon says.
job_running_in_cgroup() { grep -qx 'populated 1' "$NETNS_CGROUP/node$1/$2/cgroup.events" 2>/dev/null; }

# A background CLI, recorded so netns_down kills it however the test ends; its pid in $BG.
background() {
    RUND_NETNS_RUN="$NETNS_ID" "$@" &
    BG=$!
    netns_own_pid "$BG"
}

# Whether this build's CLI has `rund nodes` (picocli's --help answers 0 even for an unknown subcommand's name); asked
# once per run (NETNS_CLUSTER_MODE, set by run.sh).
has_cluster_mode() {
    case "${NETNS_CLUSTER_MODE:-}" in
        yes) return 0 ;;
        no) return 1 ;;
    esac
    "$NETNS_ROOT/bin/rund" --help 2>&1 | grep -qE '^ +nodes( |$)'
}
# The standalone scenarios prove the harness on a build without cluster mode; with it, the cluster ones cover the same
# ground across nodes (and a Start there may be placed on any node), and the run stays within CI's 10 minutes.
need_standalone() {
    ! has_cluster_mode || skip "this build has cluster mode: the cluster_* scenarios cover this across nodes"
}
need_cluster() {
    has_cluster_mode || skip "this build has no cluster mode (\`rund nodes\` is unknown): issue 13's cluster core is not merged"
    wait_until "$SETTLE_SECONDS" "every node lists node1..node3 as reachable members" all_nodes_see_each_other
}

# `rund nodes -o json` from node $1 as alice: one line per member, "NAME REACHABLE RUNNING" (an array or JSON lines).
nodes_of() {
    netns_cli "$1" alice nodes -o json | python3 -c '
import json, sys
text = sys.stdin.read().strip()
try:
    members = json.loads(text)
    members = members.get("nodes", members) if isinstance(members, dict) else members
except ValueError:
    members = [json.loads(line) for line in text.splitlines() if line.strip()]
for m in members:
    running = m.get("runningJobs", m.get("running", ""))
    print(m.get("name"), str(m.get("reachable")).lower(), running)'
}
all_nodes_see_each_other() {
    local n
    for n in 1 2 3; do
        [ "$(nodes_of "$n" | awk '$2 == "true" { print $1 }' | sort | tr '\n' ' ')" = "node1 node2 node3 " ] || return 1
    done
}

# start_on OWNER VIA USER CMD...: a job on node OWNER, asked through node VIA (with `--host nodeOWNER` in a cluster,
# where a Start without it is placed on any node).
start_on() {
    local owner=$1 via=$2 user=$3
    shift 3
    if ! has_cluster_mode; then
        [ "$owner" = "$via" ] || fail "a job on node$owner through node$via needs cluster mode"
        netns_cli "$via" "$user" start -- "$@"
    else
        netns_cli "$via" "$user" start --host "node$owner" -- "$@"
    fi
}

# ---------------------------------------------------------------------------------------------------------------
# Standalone: the harness itself, with what every build has.

test_standalone_each_node_serves_its_own_jobs() {
    need_standalone
    local n id
    for n in 1 2 3; do
        id=$(netns_cli "$n" alice start -- sh -c "echo out-node$n; echo err-node$n >&2; sleep 300")
        [[ "$id" =~ ^[0-9A-HJKMNP-TV-Z]{26}$ ]] || fail "start on node$n printed '$id', not a ULID"
        is_state "$n" alice "$id" running || fail "node$n: status of $id is not running"
        wait_until 30 "node$n: stdout of $id" logs_are "$n" alice "$id" "out-node$n"
        [ "$(netns_cli "$n" alice logs "$id" 2>&1 >/dev/null)" = "err-node$n" ] || fail "node$n: stderr of $id"
        netns_cli "$n" alice list -o name | grep -qx "$id" || fail "node$n: list lacks $id"
        [ "$(netns_cli "$n" alice stop "$id" | json_field stoppedByRequest)" = true ] || fail "node$n: stop $id"
        netns_cli "$n" alice rm "$id" || fail "node$n: rm $id"
        expect_exit "$EXIT_NOT_FOUND" "node$n: status after rm" netns_cli "$n" alice status "$id"
        note "node$n ($(netns_addr "$n")): start, status, logs, list, stop, rm"
    done
}

test_standalone_authorization() {
    need_standalone
    local id
    id=$(netns_cli 2 alice start -- sleep 300)
    expect_exit 0 "bob (shares alice's team SAN): status" netns_cli 2 bob status "$id"
    expect_exit 0 "admin: status" netns_cli 2 admin status "$id"
    expect_exit "$EXIT_NOT_FOUND" "carol (disjoint SANs): status" netns_cli 2 carol status "$id"
    expect_exit "$EXIT_NOT_FOUND" "carol: stop" netns_cli 2 carol stop "$id"
    expect_exit "$EXIT_NOT_FOUND" "carol: logs" netns_cli 2 carol logs "$id"
    ! netns_cli 2 carol list -o name | grep -qx "$id" || fail "carol's list shows alice's job"
    netns_cli 2 admin list -o name | grep -qx "$id" || fail "admin's list lacks alice's job"
    netns_cli 2 alice stop "$id" >/dev/null
}

test_standalone_follow_100mb_byte_exact() {
    need_standalone
    follow_100mb 1 1
}

test_standalone_kill9_and_restart() {
    need_standalone
    local id out follower before
    id=$(netns_cli 3 alice start -- sh -c "$TICKER")
    out=$NETNS_WORK/follow-kill9.out
    background "$NETNS_WORK/rund-at" 3 alice logs -f "$id" >"$out" 2>"$out.err"
    follower=$BG
    wait_until 60 "the follower's first lines" file_has_lines "$out" 5
    netns_kill9 3 || fail "node3's daemon did not die on SIGKILL"
    job_running_in_cgroup 3 "$id" || fail "the job's cgroup emptied when its daemon was killed"
    expect_exit "$EXIT_UNAVAILABLE" "status from node3 while its daemon is dead" netns_cli 3 alice status "$id"
    before=$(wc -l <"$out")
    netns_start 3 || fail "node3's daemon did not start again"
    is_state 3 alice "$id" running || fail "the restarted daemon did not adopt $id as running"
    wait_until 60 "the follower resumed after the restart" file_has_lines "$out" $((before + 10))
    netns_cli 3 alice stop "$id" >/dev/null
    set +e
    wait "$follower"
    local code=$?
    set -e
    [ "$code" -eq "$EXIT_SIGTERM" ] || fail "the follower exited $code, not $EXIT_SIGTERM (the job's SIGTERM): $(head -c 300 "$out.err")"
    consecutive "$out" || fail "the follower's output across the restart has a gap or a repeat"
    note "follower across kill -9 and restart: $(wc -l <"$out") lines, none lost or repeated"
}

test_standalone_partition_and_heal() {
    need_standalone
    local id lines start
    id=$(netns_cli 2 alice start -- sh -c "$TICKER")
    netns_partition 2
    # The root namespace forgets node2's MAC, as it would once its entry expires: the CLI's connect then fails on
    # ARP within seconds (EHOSTUNREACH) instead of its SYNs vanishing until the call's 60 s deadline.
    ip neigh flush to "$(netns_ip 2)"
    start=$(date +%s)
    expect_exit "$EXIT_UNAVAILABLE" "status from node2 while it is cut off" netns_cli 2 alice status "$id"
    note "node2 cut off: the CLI answered UNAVAILABLE after $(( $(date +%s) - start )) s"
    netns_heal 2
    wait_until 60 "node2 answers again after the heal" is_state 2 alice "$id" running
    lines=$(lines_of 2 alice "$id")
    wait_until 30 "the job keeps writing after the heal" more_lines_than 2 alice "$id" "$lines"
    netns_cli 2 alice stop "$id" >/dev/null
}

# The sha256 of the first $1 bytes of `seq 1 $SEQ_LINES` (seq's SIGPIPE when head has enough is expected).
expected_sha() { { seq 1 "$SEQ_LINES" || true; } | head -c "$1" | sha256sum | cut -d' ' -f1; }

# follow_100mb OWNER VIA: 100 MiB written by a job on OWNER, followed through VIA, byte-exact (sha256).
follow_100mb() {
    local owner=$1 via=$2 id want got
    want=$(expected_sha "$HUNDRED_MB")
    id=$(start_on "$owner" "$via" alice sh -c "seq 1 $SEQ_LINES | head -c $HUNDRED_MB")
    got=$(set -o pipefail; netns_cli "$via" alice logs -f "$id" | sha256sum | cut -d' ' -f1) \
        || fail "logs -f through node$via of a job on node$owner failed"
    [ "$got" = "$want" ] || fail "the 100 MiB followed through node$via differ from what the job on node$owner wrote"
    note "100 MiB of node$owner's job followed through node$via: sha256 $want"
    netns_cli "$via" alice rm "$id"
}

# ---------------------------------------------------------------------------------------------------------------
# Cluster: issue 13's scenarios, to the contract.

test_cluster_nodes_lists_every_member_from_every_node() {
    need_cluster
    local n
    for n in 1 2 3; do
        [ "$(nodes_of "$n" | awk '{ print $1 }' | sort | tr '\n' ' ')" = "node1 node2 node3 " ] \
            || fail "rund nodes on node$n: $(nodes_of "$n" | tr '\n' ';')"
    done
}

test_cluster_every_rpc_from_every_node() {
    need_cluster
    local owner via other id
    # Each node asks once for a job on the next one (1 -> 2, 2 -> 3, 3 -> 1) and the third node asks too: every node
    # routes, owns and is the bystander once.
    for via in 1 2 3; do
        owner=$((via % 3 + 1))
        other=$((6 - owner - via))
        id=$(start_on "$owner" "$via" alice sh -c "echo out-$owner-$via; sleep 300")
        [ "$(netns_cli "$via" alice status "$id" | json_field host)" = "node$owner" ] \
            || fail "status through node$via does not name host node$owner"
        [ "$(netns_cli "$other" alice status "$id" | json_field host)" = "node$owner" ] \
            || fail "status through node$other does not name host node$owner"
        job_running_in_cgroup "$owner" "$id" || fail "job $id started through node$via with --host node$owner does not run on node$owner"
        wait_until 30 "logs through node$other of node$owner's job" logs_are "$other" alice "$id" "out-$owner-$via"
        netns_cli "$via" alice list -o name | grep -qx "$id" || fail "list through node$via lacks node$owner's job"
        netns_cli "$other" alice list -o name | grep -qx "$id" || fail "list through node$other lacks node$owner's job"
        [ "$(netns_cli "$other" alice stop "$id" | json_field stoppedByRequest)" = true ] \
            || fail "stop through node$other of node$owner's job"
        netns_cli "$via" alice rm "$id" || fail "rm through node$via of node$owner's job"
        expect_exit "$EXIT_NOT_FOUND" "status after rm" netns_cli "$other" alice status "$id"
        note "node$owner's job through node$via and node$other: start --host, status (host), logs, list, stop, rm"
    done
    # Placement without --host lands on some member, and status says which.
    id=$(netns_cli 1 alice start -- sleep 300)
    [[ "$(netns_cli 2 alice status "$id" | json_field host)" =~ ^node[123]$ ]] || fail "a placed job's status names no host"
    netns_cli 3 alice stop "$id" >/dev/null
}

test_cluster_cross_node_authorization() {
    need_cluster
    local id
    id=$(start_on 3 1 alice sleep 300)
    expect_exit 0 "alice (owner) through node2" netns_cli 2 alice status "$id"
    expect_exit 0 "bob (shares alice's team SAN) through node2" netns_cli 2 bob status "$id"
    expect_exit 0 "admin through node1" netns_cli 1 admin status "$id"
    expect_exit "$EXIT_NOT_FOUND" "carol (disjoint SANs) status through node2" netns_cli 2 carol status "$id"
    expect_exit "$EXIT_NOT_FOUND" "carol stop through node1" netns_cli 1 carol stop "$id"
    expect_exit "$EXIT_NOT_FOUND" "carol logs through node2" netns_cli 2 carol logs "$id"
    expect_exit "$EXIT_NOT_FOUND" "carol rm through node1" netns_cli 1 carol rm "$id"
    ! netns_cli 1 carol list -o name | grep -qx "$id" || fail "carol's list through node1 shows alice's job on node3"
    netns_cli 2 admin list -o name | grep -qx "$id" || fail "admin's list through node2 lacks alice's job on node3"
    netns_cli 2 bob stop "$id" >/dev/null || fail "bob could not stop the job he shares a SAN with"
}

test_cluster_follow_100mb_byte_exact_across_nodes() {
    need_cluster
    follow_100mb 1 2
}

test_cluster_stalled_follower_across_nodes() {
    need_cluster
    local id stalled want got rss1_before rss2_before rss1_max rss2_max rss code
    want=$(expected_sha $((2 * HUNDRED_MB)))
    # The job waits a little so the stalled follower is attached (and stopped) before the output flows.
    id=$(start_on 1 2 alice sh -c "sleep 5; seq 1 $SEQ_LINES | head -c $((2 * HUNDRED_MB))")
    background "$NETNS_WORK/rund-at" 2 alice logs -f "$id" >/dev/null
    stalled=$BG
    wait_until 60 "the first follower connected to node2" connected_to 2 "$stalled"
    kill -STOP "$stalled"
    rss1_before=$(netns_rss_kib 1)
    rss2_before=$(netns_rss_kib 2)
    rss1_max=$rss1_before
    rss2_max=$rss2_before
    # A second follower through the same node reads all 200 MB while the first is stopped, and the job ends.
    background bash -c "set -o pipefail; '$NETNS_WORK/rund-at' 2 alice logs -f $id | sha256sum | cut -d' ' -f1 >'$NETNS_WORK/second.sha'"
    local second=$BG
    while kill -0 "$second" 2>/dev/null; do
        rss=$(netns_rss_kib 1); [ "$rss" -le "$rss1_max" ] || rss1_max=$rss
        rss=$(netns_rss_kib 2); [ "$rss" -le "$rss2_max" ] || rss2_max=$rss
        sleep 1
    done
    wait "$second" || fail "the second follower through node2 failed while the first was stopped"
    got=$(cat "$NETNS_WORK/second.sha")
    [ "$got" = "$want" ] || fail "the second follower's 200 MiB differ from the job's output"
    wait_until 60 "the job ends while a follower is stopped" is_state 1 alice "$id" exited
    netns_alive 1 && netns_alive 2 || fail "a daemon died while a follower was stopped"
    note "200 MiB with a stopped follower on node2 of node1's job: node1 RSS ${rss1_before} -> max ${rss1_max} KiB, node2 ${rss2_before} -> max ${rss2_max} KiB"
    # Bounded: far less than the 200 MiB the stopped follower did not read (each JVM has -Xmx256m besides).
    [ $((rss1_max - rss1_before)) -lt 102400 ] || fail "node1's RSS grew by $((rss1_max - rss1_before)) KiB"
    [ $((rss2_max - rss2_before)) -lt 102400 ] || fail "node2's RSS grew by $((rss2_max - rss2_before)) KiB"
    kill -CONT "$stalled"
    set +e
    wait "$stalled"
    code=$?
    set -e
    [ "$code" -eq 0 ] || fail "the stalled follower, resumed, exited $code instead of the job's 0"
}

test_cluster_kill9_of_a_node() {
    need_cluster
    local id1 id2 id3 out follower killed first="" t code before
    id1=$(start_on 1 1 alice sleep 600)
    id2=$(start_on 2 1 alice sleep 600)
    id3=$(start_on 3 1 alice sh -c "$TICKER")
    out=$NETNS_WORK/follow-node3.out
    background "$NETNS_WORK/rund-at" 1 alice logs -f "$id3" >"$out" 2>"$out.err"
    follower=$BG
    wait_until 60 "the follower through node1 gets node3's first lines" file_has_lines "$out" 5
    netns_kill9 3 || fail "node3's daemon did not die on SIGKILL"
    killed=$(date +%s)
    # Poll until node1 answers UNAVAILABLE naming node3; a request asked at or after 10 s must answer so.
    while :; do
        t=$(date +%s)
        set +e
        timeout 90 "$NETNS_WORK/rund-at" 1 alice status "$id3" >/dev/null 2>"$NETNS_WORK/loss.err"
        code=$?
        set -e
        if [ "$code" -eq "$EXIT_UNAVAILABLE" ] && grep -q node3 "$NETNS_WORK/loss.err"; then
            first=$(( $(date +%s) - killed ))
            break
        fi
        [ $((t - killed)) -lt "$NODE_LOSS_SECONDS" ] \
            || fail "asked $((t - killed)) s after node3's loss, node1 answered exit $code: $(head -c 300 "$NETNS_WORK/loss.err")"
        sleep 0.5
    done
    note "node1 answered UNAVAILABLE naming node3 $first s after its kill -9: $(head -c 200 "$NETNS_WORK/loss.err")"
    job_running_in_cgroup 3 "$id3" || fail "node3's job died with its daemon"
    is_state 1 alice "$id1" running || fail "node1's job is affected by node3's loss"
    is_state 1 alice "$id2" running || fail "node2's job (through node1) is affected by node3's loss"
    is_state 2 alice "$id2" running || fail "node2's job (through node2) is affected by node3's loss"
    before=$(wc -l <"$out")
    netns_start 3 || fail "node3's daemon did not start again"
    wait_until "$SETTLE_SECONDS" "node3's adopted job reachable through node1" is_state 1 alice "$id3" running
    wait_until 60 "the follower through node1 resumed" file_has_lines "$out" $((before + 10))
    netns_cli 2 alice stop "$id3" >/dev/null
    set +e
    wait "$follower"
    code=$?
    set -e
    [ "$code" -eq "$EXIT_SIGTERM" ] || fail "the follower through node1 exited $code, not $EXIT_SIGTERM: $(head -c 300 "$out.err")"
    consecutive "$out" || fail "the follower's output across node3's loss has a gap or a repeat"
    netns_cli 1 alice stop "$id1" >/dev/null
    netns_cli 1 alice stop "$id2" >/dev/null
}

test_cluster_partition_and_heal() {
    need_cluster
    local id lines code
    id=$(start_on 2 1 alice sh -c "$TICKER")
    wait_until 30 "node2's job writes" more_lines_than 1 alice "$id" 3
    netns_partition 2
    wait_until 60 "node1 answers UNAVAILABLE naming node2 while node2 is cut off" unavailable_naming 1 "$id" node2
    job_running_in_cgroup 2 "$id" || fail "node2's job stopped when node2 was cut off"
    netns_heal 2
    wait_until "$SETTLE_SECONDS" "node2's job reachable through node1 after the heal" is_state 1 alice "$id" running
    wait_until "$SETTLE_SECONDS" "every node lists node2 as reachable again" all_nodes_see_each_other
    lines=$(lines_of 3 alice "$id")
    wait_until 30 "node2's job keeps writing" more_lines_than 3 alice "$id" "$lines"
    [ "$(netns_cli 3 alice stop "$id" | json_field stoppedByRequest)" = true ] || fail "stop after the heal"
}

# A partition longer than rund.cluster.down-unreachable-after: the majority downs node2 (keep-majority), node2's
# cluster system ends and is made anew while its job runs on; once healed it joins again and its job is reachable.
test_cluster_downed_node_rejoins() {
    need_cluster
    local id lines
    id=$(start_on 2 1 alice sh -c "$TICKER")
    wait_until 30 "node2's job writes" more_lines_than 1 alice "$id" 3
    netns_partition 2
    wait_until 120 "node2's cluster system ends (downed while cut off)" \
        grep -q "node2: its cluster system ended" "$(netns_serve_log 2)"
    job_running_in_cgroup 2 "$id" || fail "node2's job stopped when its cluster layer was downed"
    netns_heal 2
    wait_until "$SETTLE_SECONDS" "every node lists node2 as reachable again after it rejoined" all_nodes_see_each_other
    wait_until "$SETTLE_SECONDS" "node2's job reachable through node1 after the rejoin" is_state 1 alice "$id" running
    lines=$(lines_of 3 alice "$id")
    wait_until 30 "node2's job keeps writing, read through node3" more_lines_than 3 alice "$id" "$lines"
    [ "$(netns_cli 1 alice stop "$id" | json_field stoppedByRequest)" = true ] || fail "stop through node1 after the rejoin"
}

# Whether process $2 (the CLI's JVM, under bin/rund's exec) holds a TCP connection to node $1's API.
connected_to() { ss -Htnp state established dst "$(netns_addr "$1")" | grep -q "pid=$2,"; }

unavailable_naming() { # VIA ID HOST
    local code
    set +e
    netns_cli "$1" alice status "$2" >/dev/null 2>"$NETNS_WORK/unavailable.err"
    code=$?
    set -e
    [ "$code" -eq "$EXIT_UNAVAILABLE" ] && grep -q "$3" "$NETNS_WORK/unavailable.err"
}

test_cluster_user_certificate_cannot_join() {
    need_cluster
    [ "$NETNS_NODES" -ge 4 ] || skip "needs a fourth namespace"
    local log
    # node4 presents alice's certificate (same CA, no spiffe://rund/node/ SAN) as its node certificate.
    netns_start 4 RUND_NODE_CERT="$NETNS_TLS/alice.pem" RUND_NODE_KEY="$NETNS_TLS/alice-key.pem" \
        || note "node4 with a user certificate did not serve (refused at start is a refusal too)"
    wait_until 60 "a node logs refusing node4's certificate" refusal_logged
    sleep 10
    for n in 1 2 3; do
        ! nodes_of "$n" | awk '{ print $1 }' | grep -qx node4 || fail "rund nodes on node$n lists node4, which has a user certificate"
    done
    log=$(refusal_logged)
    note "refused: $log"
    netns_alive 4 && { kill -KILL "$(netns_pid 4)"; netns_await_exit 4 30; } || true
}

# The first log line (printed) that shows node4 refused: a seed saying it refused node4's certificate, or node4's own
# handshake with a seed failing on the seed's alert (the seeds answer a user certificate with certificate_unknown);
# failure if there is none.
refusal_logged() {
    {
        grep -h -i -E 'spiffe://rund/node|node certificate|not a node|refus' \
            "$(netns_serve_log 1)" "$(netns_serve_log 2)" "$(netns_serve_log 3)" 2>/dev/null \
            | grep -i -E 'node4|alice|10\.77\.[0-9]+\.4' || true
        grep -h -E 'SSLHandshakeException.*(certificate_unknown|bad_certificate|certificate_required)' \
            "$(netns_serve_log 4)" 2>/dev/null | grep -E "$NETNS_NET\.[123]:$NETNS_CLUSTER_PORT" || true
    } | head -n 1 | grep .
}
