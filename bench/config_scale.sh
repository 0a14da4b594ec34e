#!/usr/bin/env bash
# Config at site scale: generates PHONES phones with two lines each and ten
# contacts each (D-series models in turn), then times `opendpma check`,
# `opendpma render <mac>`, a cold start of `serve` until /healthz answers,
# and three reloads through the admin API; prints peak RSS for each.
# Loopback only; every wait is bounded. Exits non-zero when any step fails.
# No request rate is offered (one check, one render, three reloads, one
# after the other); it ends with a `RESULT config_scale …` line for
# bench/regenerate.py (seconds, MiB; the median of the three reloads).
# Usage: bench/config_scale.sh [PHONES]       (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
PHONES=${1:-10000}
command -v curl >/dev/null || { echo "curl is not installed"; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (apt-get install time)"; exit 1; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/server_under_test.sh
HTTP=$(free_port); ADMIN=$(free_port); SIP=$(free_port)

python3 - "$work/phones.toml" "$HTTP" "$ADMIN" "$SIP" "$PHONES" <<'PY'
import sys
path, http, admin, sip, phones = sys.argv[1], *map(int, sys.argv[2:])
lines = 2 * phones
out = [f'''[general]
server_address = "127.0.0.1"
[http]
listen = "127.0.0.1:{http}"
[sip]
listen = ["udp:127.0.0.1:{sip}"]
[admin]
listen = "127.0.0.1:{admin}"
token = "bench"
''']
for i in range(lines):
    out.append(f'[lines."{100000 + i}"]\nsecret = "pw{i}"\nlabel = "User {i}"\n')
models = ["D40", "D45", "D50", "D60", "D62", "D65", "D70", "D80"]
for i in range(phones):
    contacts = ", ".join(f'"{100000 + (2 * i + 2 + k) % lines}"' for k in range(10))
    out.append(f'[phones.p{i}]\nmac = "001916{i:06x}"\nmodel = "{models[i % 8]}"\n'
               f'lines = ["{100000 + 2 * i}", "{100001 + 2 * i}"]\ncontacts = [{contacts}]\n')
open(path, "w").write("\n".join(out))
PY

[ -n "${BENCH_PREBUILT:-}" ] || cargo build --release --quiet  # bench/regenerate.py builds once
bin=./target/release/opendpma
echo "machine: $(nproc) cores, $(uname -m), $(date -u +%F); $PHONES phones, $((2 * PHONES)) lines, 10 contacts each"
results="phones=$PHONES lines=$((2 * PHONES)) contacts_per_phone=10"
measure() { # label key command...
    /usr/bin/time -f "%e %M" -o "$work/time" "${@:3}" >"$work/out" 2>&1 || { cat "$work/out"; echo "FAILED: $1"; exit 1; }
    read -r seconds kib <"$work/time"
    printf '%-28s %6.2f s  peak RSS %6d MiB\n' "$1" "$seconds" $((kib / 1024))
    results+=" ${2}_s=$seconds ${2}_rss_mib=$((kib / 1024))"
}
measure "check" check "$bin" check "$work/phones.toml"
measure "render (last phone)" render "$bin" render --config "$work/phones.toml" "$(printf '001916%06x' $((PHONES - 1)))"

"$bin" --log-level warn serve --config "$work/phones.toml" &
server=$!
started=$(date +%s.%N)
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null || { echo "FAILED: server did not start within 30 s"; exit 1; }
start_s=$(python3 -c "import time; print(f'{time.time() - $started:.2f}')")
printf '%-28s %6.2f s\n' "serve: start to /healthz" "$start_s"
results+=" start_s=$start_s"
reloads=()
for run in 1 2 3; do
    summary=$(/usr/bin/time -f "%e" -o "$work/time" curl -sf -XPOST -H 'Authorization: Bearer bench' \
        "http://127.0.0.1:$ADMIN/api/v1/reload") || { echo "FAILED: reload $run"; exit 1; }
    case "$summary" in *"$PHONES phones"*) ;; *) echo "FAILED: reload $run answered $summary"; exit 1 ;; esac
    printf '%-28s %6.2f s\n' "reload $run" "$(cat "$work/time")"
    results+=" reload${run}_s=$(cat "$work/time")"
    reloads+=("$(cat "$work/time")")
done
rss_mib=$(($(awk '/VmRSS/ { print $2 }' "/proc/$server/status") / 1024))
printf '%-28s %6d MiB\n' "serve RSS after reloads" "$rss_mib"
echo "RESULT config_scale $results reload_median_s=$(printf '%s\n' "${reloads[@]}" | sort -g | sed -n 2p)" \
    "rss_after_reloads_mib=$rss_mib"
