#!/usr/bin/env bash
# Provisioning throughput: wrk against <mac>.cfg for a generated config of
# 1,000 phones (rotating over all MACs, Basic auth), then nginx serving the
# same bytes as static files, if nginx is installed. Loopback only, bounded
# by DURATION. Exits non-zero when any request fails or none succeeds.
# Offered: wrk's closed loop (32 connections, each sends its next request
# when the last is answered); achieved: requests/s. Prints a `RESULT
# provisioning server=…` line per server for bench/regenerate.py.
# Usage: bench/provisioning.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
PHONES=1000
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/server_under_test.sh
HTTP=$(free_port); ADMIN=$(free_port); SIP=$(free_port); NGINX=$(free_port)

python3 - "$work/phones.toml" "$HTTP" "$ADMIN" "$SIP" "$PHONES" <<'PY'
import sys
path, http, admin, sip, phones = sys.argv[1], *map(int, sys.argv[2:])
out = [f'''[general]
server_address = "127.0.0.1"
[http]
listen = "127.0.0.1:{http}"
username = "provision"
password = "bench-pw"
[sip]
listen = ["udp:127.0.0.1:{sip}"]
[admin]
listen = "127.0.0.1:{admin}"
token = "bench"
# wrk is one address with 32 connections: lift the per-address limits.
[limits]
http_requests_per_second = 0
http_connections_per_ip = 1000
''']
for i in range(phones):
    out.append(f'[lines."{3000+i}"]\nsecret = "pw{i}"\nlabel = "User {i} & Co"\n')
models = ["D40", "D45", "D50", "D60", "D62", "D65", "D70", "D80"]
for i in range(phones):
    contacts = ", ".join(f'"{3000 + (i + k) % phones}"' for k in range(1, 11))
    out.append(f'[phones.p{i}]\nmac = "001916{i:06x}"\nmodel = "{models[i % 8]}"\nlines = ["{3000+i}"]\ncontacts = [{contacts}]\n')
open(path, "w").write("\n".join(out))
with open(path.replace("phones.toml", "macs.txt"), "w") as f:
    for i in range(phones):
        f.write(f"001916{i:06x}\n")
PY

[ -n "${BENCH_PREBUILT:-}" ] || cargo build --release --quiet  # bench/regenerate.py builds once
./target/release/opendpma --log-level warn serve --config "$work/phones.toml" &
wait_healthy

cat > "$work/rotate.lua" <<'LUA'
local macs = {}
for line in io.lines(os.getenv("MACS")) do macs[#macs + 1] = line end
local i = 0
request = function()
  i = i % #macs + 1
  return wrk.format("GET", "/" .. macs[i] .. ".cfg", { ["Authorization"] = "Basic cHJvdmlzaW9uOmJlbmNoLXB3" })
end
LUA
export MACS="$work/macs.txt"

report() { # name, server key, wrk output
    local rps p99 requests
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$3")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$3")
    requests=$(awk '/requests in/ {print $1}' <<<"$3")
    printf '%-22s offered: closed loop, 32 connections; achieved %12s req/s (%s requests)   p99 %s\n' \
        "$1" "$rps" "$requests" "$p99"
    # A run that got errors or refusals measured something else: fail it.
    if grep -q "Non-2xx or 3xx responses\|Socket errors" <<<"$3" || [ -z "$rps" ] || [ "${requests:-0}" -eq 0 ]; then
        grep "Non-2xx or 3xx responses\|Socket errors" <<<"$3" || true
        echo "FAILED: $1"
        exit 1
    fi
    # wrk prints p99 as 2.81ms, 512.00us or 1.02s.
    echo "RESULT provisioning server=$2 duration_s=$DURATION connections=32 phones=$PHONES requests=$requests" \
        "achieved_rate=$rps p99_ms=$(python3 -c "
import re; n, u = re.fullmatch(r'([0-9.]+)(us|ms|s)', '$p99').groups()
print(round(float(n) * {'us': 1e-3, 'ms': 1, 's': 1e3}[u], 3))")"
}

echo "machine: $(nproc) cores, $(uname -m), $(date -u +%F)"
echo "wrk -t2 -c32 -d${DURATION}s, $PHONES phones, rotating MACs"
out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -s "$work/rotate.lua" "http://127.0.0.1:$HTTP")
report "opendpma (Basic auth)" opendpma "$out"

if command -v nginx >/dev/null; then
    mkdir -p "$work/static"
    while read -r mac; do
        curl -sf -u provision:bench-pw -o "$work/static/$mac.cfg" "http://127.0.0.1:$HTTP/$mac.cfg"
    done < "$work/macs.txt"
    cat > "$work/nginx.conf" <<NGX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    types { application/xml cfg; }
    server { listen 127.0.0.1:$NGINX; root $work/static; }
}
NGX
    nginx -c "$work/nginx.conf" -p "$work"
    # nginx daemonises once it listens; still, wait (bounded) until it answers.
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$NGINX/001916000000.cfg" && break; sleep 0.1; done
    out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -s "$work/rotate.lua" "http://127.0.0.1:$NGINX")
    report "nginx (static files)" nginx "$out"
    nginx -c "$work/nginx.conf" -p "$work" -s stop
else
    echo "nginx not installed: no comparison"
fi
