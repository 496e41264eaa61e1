#!/usr/bin/env bash
# Non-JVM gRPC clients against the real daemon (CI step, from .ci/run): Node's @grpc/grpc-js, Python with Debian's
# python3-grpcio (system OpenSSL), Python with the grpcio wheel `pip install grpcio` brings (BoringSSL inside: it
# cannot verify a P-521 server certificate, so rund must present its P-256 one), and docs/CLIENTS.md's Go example
# (grpc-go from Debian's packages, compiled and run). The Node and Python clients drive Start, Logs follow with
# its trailer, Status, List, Stop and error cases, asserting codes and bytes. Installs what it needs idempotently
# (apt, npm, a venv under target/interop), starts `bin/rund serve` on a free loopback port with a state directory of
# its own, and stops it by pid at the end.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$(pwd)
here=src/test/interop
work=target/interop
mkdir -p "$work"
fail() { echo "interop: FAIL: $*" >&2; [ -f "${log:-}" ] && tail -n 40 "$log" >&2; exit 1; }
. src/test/await-serve.sh

# --- clients, installed once ---
missing=()
for package in python3-grpcio python3-grpc-tools python3-venv; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
for package in golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev \
        protoc-gen-go protoc-gen-go-grpc protobuf-compiler; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    echo "interop: apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$work/apt.log" 2>&1 \
        || { apt-get update >>"$work/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y \
            --no-install-recommends "${missing[@]}" >>"$work/apt.log" 2>&1; } || fail "apt-get install ${missing[*]} (see $work/apt.log)"
fi
if ! cmp -s "$here/package.json" "$work/node/package.json" || [ ! -d "$work/node/node_modules/@grpc/grpc-js" ]; then
    mkdir -p "$work/node"
    cp "$here/package.json" "$work/node/"
    (cd "$work/node" && npm install --no-audit --no-fund --loglevel=error) || fail "npm install in $work/node"
fi
cp "$here/client.js" "$work/node/"
if [ ! -x "$work/venv/bin/python" ] || ! "$work/venv/bin/python" -c 'import grpc, grpc_tools' 2>/dev/null; then
    /usr/bin/python3 -m venv "$work/venv" || fail "python3 -m venv $work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check grpcio grpcio-tools || fail "pip install grpcio grpcio-tools"
fi
stubs() { # PYTHON DIR: rund_pb2*.py made by that Python's own grpc_tools
    rm -rf "$2" && mkdir -p "$2"
    "$1" -m grpc_tools.protoc -I protobuf --python_out="$2" --grpc_python_out="$2" rund/v1/rund.proto
}
stubs /usr/bin/python3 "$work/stubs-debian"
stubs "$work/venv/bin/python" "$work/stubs-wheel"
# The Go example of docs/CLIENTS.md, in GOPATH mode with Debian's Go packages (no module proxy needed).
gopath="$(pwd)/$work/go"
rm -rf "$gopath" && mkdir -p "$gopath/src/rundexample"
protoc -I protobuf -I /usr/include --go_out="$gopath/src" --go_opt=Mrund/v1/rund.proto=rund/v1 \
    --go-grpc_out="$gopath/src" --go-grpc_opt=Mrund/v1/rund.proto=rund/v1 rund/v1/rund.proto || fail "protoc --go_out"
cp "$here/go/main.go" "$gopath/src/rundexample/"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$(pwd)/$work/go-cache" go build -o "$work/go-client" rundexample \
    || fail "go build of the Go example"

# --- the daemon ---
state=$(mktemp -d)
log="$state/serve.log"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUND_STATE_DIR="$state/state" bin/rund serve --addr "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$state"' EXIT
await_serve "$log" "$server" 600 "the first bin/rund builds rund and its AOT caches"

tls=(tls/ca.pem tls/client.pem tls/client-key.pem)
addr="localhost:$port"
node "$work/node/client.js" "$addr" "${tls[@]}" "$root/protobuf" || fail "Node @grpc/grpc-js"
/usr/bin/python3 "$here/client.py" "$addr" "${tls[@]}" "$work/stubs-debian" "python3-grpcio (Debian, OpenSSL)" \
    || fail "Python, Debian's python3-grpcio"
"$work/venv/bin/python" "$here/client.py" "$addr" "${tls[@]}" "$work/stubs-wheel" "grpcio wheel (BoringSSL)" \
    || fail "Python, the grpcio wheel"
go_output=$("$work/go-client" "$addr" "${tls[@]}") || fail "Go example: $go_output"
[ "$(echo "$go_output" | head -n 1)" = hello ] && echo "$go_output" | grep -q "exited with 3$" \
    || fail "Go example printed '$go_output', not hello and exit 3"
echo "interop go: Start, Logs follow + trailer: ok ($(go version | cut -d' ' -f3))"

kill -TERM "$server"
wait "$server" || fail "bin/rund serve exited $? on SIGTERM, not 0"
trap 'rm -rf "$state"' EXIT
echo "interop: Node @grpc/grpc-js, Python python3-grpcio (OpenSSL), the grpcio wheel (BoringSSL) and Go: all passed"
