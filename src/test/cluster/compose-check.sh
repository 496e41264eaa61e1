#!/usr/bin/env bash
# Validates docker-compose.yml (issue 13 point 9) with Debian's docker-compose, installed with apt when missing (no
# Docker engine: `config -q` parses and checks the file against the Compose schema without one). No engine runs on
# rund's machines, so the three-node topology itself is run by src/test/cluster/run.sh, in network namespaces.
set -euo pipefail
cd "$(dirname "$0")/../../.."
if ! command -v docker-compose >/dev/null 2>&1; then
    echo "compose check: installing Debian's docker-compose (apt, no engine)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
docker-compose -f docker-compose.yml config -q
# Every file the image copies is in the checkout (tls/node1..3.pem included: tls/gen.sh makes them).
missing=$(grep -v '^#' Dockerfile | grep -oE '(^|[[:space:]])(tls|docker)/[^ ]+' | tr -d ' \t' | sort -u \
    | while read -r path; do [ -e "$path" ] || echo "$path"; done)
[ -z "$missing" ] || { echo "compose check: the Dockerfile copies files the checkout lacks: $(echo $missing)" >&2; exit 1; }
echo "compose check: docker-compose.yml is valid ($(docker-compose version --short)); every file the Dockerfile copies exists"
