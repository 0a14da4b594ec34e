#!/usr/bin/env bash
# Runs the dashboard browser test against the real binary on the sample
# phones.toml (moved to free loopback ports and a temporary data folder).
# Needs Debian's chromium and `npm install` in this folder.
# Usage: tests/browser/run.sh [SCREENSHOT]   (default: docs/dashboard.png)
set -euo pipefail
cd "$(dirname "$0")/../.."
screenshot=${1:-docs/dashboard.png}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(free_port); ADMIN=$(free_port); SIP=$(free_port)
sed -e "s/^listen = \"0.0.0.0:8088\"/listen = \"127.0.0.1:$HTTP\"/" \
    -e "s/^listen = \"127.0.0.1:8089\"/listen = \"127.0.0.1:$ADMIN\"/" \
    -e "s/udp:0.0.0.0:5070/udp:127.0.0.1:$SIP/; s/tcp:0.0.0.0:5070/tcp:127.0.0.1:$SIP/" \
    -e "s|^data_dir = \"data\"|data_dir = \"$work/data\"|" phones.toml > "$work/phones.toml"
cargo build --quiet
./target/debug/opendpma --log-level warn serve --config "$work/phones.toml" &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null && break; sleep 0.1; done
(cd tests/browser && [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent)
node tests/browser/dashboard.mjs "http://127.0.0.1:$ADMIN" change-me-too "$screenshot"
