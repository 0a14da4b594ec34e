#!/usr/bin/env bash
# The CPU floor of the PUBLISH load scenario: bench/publish_floor.rs (a
# responder that only echoes 401 and 200) under the same sipp command as
# ../shared/peers/sbs.sh publish. Prints its CPU per call and calls per
# CPU-second: no server that does the work can beat it on this machine.
#   bench/publish_floor.sh [RATE] [SECONDS]
# Bounded (sipp -m and -timeout); exits non-zero if any call fails.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-5000}; DUR=${2:-10}; CALLS=$((RATE * DUR))
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/server_under_test.sh
command -v rustc >/dev/null || { echo "rustc is not installed"; exit 1; }
rustc -O --edition 2021 bench/publish_floor.rs -o "$work/publish_floor"
PORT=$(free_port)
"$work/publish_floor" "$PORT" &
FLOOR=$!
sleep 0.2
cpu() { awk '{print $14+$15}' "/proc/$FLOOR/stat"; }
c0=$(cpu)
(cd "$work" && sipp -sf "$OLDPWD/bench/sipp/publish_load.xml" -s 2001 "127.0.0.1:$PORT" -i 127.0.0.1 -p 0 \
    -m "$CALLS" -r "$RATE" -l 3000 -timeout $((DUR + 30))s -nostdin -buff_size 8388608 \
    -trace_stat -fd 1 > "$work/sipp.out" 2>&1) || true
c1=$(cpu)
read -r ok failed < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i;next}{l=$0}END{split(l,f,";");print f[c["SuccessfulCall(C)"]], f[c["FailedCall(C)"]]}' "$work"/*_.csv)
python3 - "$ok" "$failed" "$c0" "$c1" "$(getconf CLK_TCK)" "$RATE" <<'PY'
import sys
ok, failed, c0, c1, hz, rate = (int(x) for x in sys.argv[1:])
cpu = (c1 - c0) / hz
print(f"floor: offered {rate}/s, ok {ok} failed {failed}; CPU {cpu:.2f} s -> "
      f"{cpu / max(ok, 1) * 1e6:.1f} µs per call, {ok / max(cpu, 0.01):.0f} calls per CPU-s")
print(f"RESULT publish_floor rate={rate} ok={ok} failed={failed} cpu_s={cpu:.2f} "
      f"per_cpu_s={ok / max(cpu, 0.01):.0f}")
PY
[ "$failed" = 0 ] && [ "$ok" -gt 0 ] || { echo "FAILED: $failed calls failed"; exit 1; }
