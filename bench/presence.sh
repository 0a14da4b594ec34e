#!/usr/bin/env bash
# Presence throughput on loopback with sipp (bounded by CALLS and sipp's
# -timeout): digest-authenticated SUBSCRIBE dialogs per second and
# PUBLISH requests per second (each a durable, fsync'd change), then the
# fan-out time from one change to N watchers (benches/fanout.rs).
# Usage: bench/presence.sh [CALLS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-5000}
RATE=${2:-2000}
command -v sipp >/dev/null || { echo "sipp is not installed (apt-get install sip-tester)"; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cargo build --release --quiet
start_server() {
    HTTP=$(free_port); ADMIN=$(free_port); SIP=$(free_port)
    rm -rf "$work/data"
    cat > "$work/phones.toml" <<TOML
[general]
server_address = "127.0.0.1"
[http]
listen = "127.0.0.1:$HTTP"
[sip]
listen = ["udp:127.0.0.1:$SIP"]
digest_algorithms = ["MD5"]
[admin]
listen = "127.0.0.1:$ADMIN"
token = "bench"
[lines.2000]
secret = "bench-2000"
[lines.2001]
secret = "bench-2001"
TOML
    ./target/release/opendpma --log-level warn serve --config "$work/phones.toml" &
    SERVER=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null && break; sleep 0.1; done
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }

measure() { # name scenario
    (cd "$work" && sipp -sf "$OLDPWD/bench/sipp/$2" -s 2001 "127.0.0.1:$SIP" -i 127.0.0.1 -p 0 \
        -m "$CALLS" -r "$RATE" -l 500 -timeout 120s -nostdin -trace_stat -fd 1 >/dev/null 2>&1) || true
    # The last stats row: successful and failed calls, and the elapsed
    # time as hh:mm:ss:microseconds.
    awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } { last = $0 }
        END { split(last, f, ";"); split(f[col["ElapsedTime(C)"]], t, ":");
              seconds = t[1] * 3600 + t[2] * 60 + t[3] + t[4] / 1e6;
              ok = f[col["SuccessfulCall(C)"]]; failed = f[col["FailedCall(C)"]];
              printf "%-28s %7d ok %5d failed in %6.2f s: %7.0f/s\n", name, ok, failed, seconds, ok / seconds }' \
        name="$1" "$work"/*_.csv
    rm -f "$work"/*_.csv
}

echo "machine: $(nproc) cores, $(uname -m), $(date -u +%F); $CALLS calls at up to $RATE/s"
start_server; measure "SUBSCRIBE (digest, dialog)" subscribe_load.xml; stop_server
start_server; measure "PUBLISH (digest, fsync)" publish_load.xml; stop_server
cargo bench --quiet --bench fanout -- 1000 10000
