#!/usr/bin/env bash
# Fan-out on the Kamailio anchor's harness (issue 16): N sipp watchers of
# one line (bench/sipp/fanout_watch.xml, digest auth), one sipp publisher
# (fanout_publish.xml) driving three state changes 3 s apart; a tshark
# capture on loopback timed by ../shared/peers/fanout_waves.py (PUBLISH →
# first and last NOTIFY of each wave). Same scenarios as
# `../shared/peers/bench.sh fanout N` apart from the digest rounds.
#
#   bench/fanout.sh N [kamailio]    # "kamailio": then bench.sh fanout N, same run
#
# Bounded: every sipp run has -m and -timeout. Exits non-zero when any
# watcher call fails, or a wave reaches fewer than N watchers. Offered:
# watchers subscribe at 500/s (as the anchor's), then 3 changes; achieved:
# subscriptions/s until all N are up, NOTIFY/s of each wave. Prints a
# `RESULT fanout server=…` line per server for bench/regenerate.py.
# Env: PEERS (default ../shared/peers), FANOUT_OUT (keep pcap/logs there),
# FANOUT_PERF (perf record -g of the server over the publish phase, to that file).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
WITH_KAMAILIO=${2:-}
if [ -z "${PEERS:-}" ]; then
    # Next to the checkout, or next to the folder of worktrees.
    for PEERS in ../shared/peers ../../shared/peers; do [ -d "$PEERS" ] && break; done
fi
for tool in sipp tshark python3 curl; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed"; exit 1; }
done
[ -f "$PEERS/fanout_waves.py" ] || { echo "no $PEERS/fanout_waves.py (set PEERS)"; exit 1; }
work=${FANOUT_OUT:-$(mktemp -d)}
mkdir -p "$work"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${FANOUT_OUT:-}" ] || rm -rf "$work"' EXIT
. bench/server_under_test.sh
load() { cut -d' ' -f1 /proc/loadavg; }
# waves_kv FILE: fanout_waves.py's lines as wave<i>_notifies/first_ms/
# last_ms/retransmissions/answered keys (a wave without NOTIFY: notifies=0).
waves_kv() {
    python3 - "$1" <<'PY'
import re, sys
out = []
for line in open(sys.argv[1]):
    m = re.match(r"\s*wave (\d+)\b[^:]*: (\d+) NOTIFY .*first ([0-9.]+) ms, last ([0-9.]+) ms"
                 r".*?; (\d+) retransmissions; (\d+) answered", line)
    if m:
        i = m.group(1)
        out += [f"wave{i}_notifies={m.group(2)}", f"wave{i}_first_ms={m.group(3)}",
                f"wave{i}_last_ms={m.group(4)}", f"wave{i}_retransmissions={m.group(5)}",
                f"wave{i}_answered={m.group(6)}"]
    elif re.match(r"\s*wave (\d+): no NOTIFY", line):
        out.append(f"wave{line.split()[1].rstrip(':')}_notifies=0")
print(" ".join(out))
PY
}

[ -n "${BENCH_PREBUILT:-}" ] || cargo build --release --quiet  # bench/regenerate.py builds once
HTTP=$(free_port); ADMIN=$(free_port); SIP=$(free_port)
presence_config "$work/phones.toml" "$N" 'digest_algorithms = ["MD5"]'
./target/release/opendpma --log-level warn serve --config "$work/phones.toml" > "$work/server.log" 2>&1 &
SERVER=$!
wait_healthy
cpu() { awk '{print $14+$15}' "/proc/$SERVER/stat"; }

echo "machine: $(nproc) cores, $(date -u '+%F %H:%M') UTC, load $(load); opendpma fan-out to $N watchers"
tshark -q -i lo -f "udp port $SIP" -w "$work/fanout-$N.pcap" > "$work/tshark.log" 2>&1 &
TSHARK=$!
# tshark is ready when it says so on stderr (bounded wait).
for _ in $(seq 100); do grep -q "Capturing on" "$work/tshark.log" 2>/dev/null && break; sleep 0.1; done
(cd "$work" && sipp -sf "$OLDPWD/bench/sipp/fanout_watch.xml" -s 2001 "127.0.0.1:$SIP" -i 127.0.0.1 -p 0 \
    -r 500 -m "$N" -l "$N" -buff_size 8388608 -default_behaviors all,-bye -timeout 120s -timeout_error \
    -nostdin -trace_stat -fd 1 -trace_err > "$work/watchers.out" 2>&1) &
WATCHERS=$!
subscribe_started=$(date +%s.%N)
# Wait until every watcher has its dialog: the server counts them.
up=0
for _ in $(seq $((N / 50 + 200))); do
    up=$(curl -s -H "Authorization: Bearer bench" "http://127.0.0.1:$ADMIN/metrics" | awk '/^opendpma_sip_subscriptions /{print $2}')
    [ "${up:-0}" -ge "$N" ] && break
    sleep 0.1
done
subscribe_seconds=$(python3 -c "import time; print(f'{time.time() - $subscribe_started:.2f}')")
echo "subscriptions up: ${up:-0} of $N in $subscribe_seconds s, offered 500/s, achieved" \
    "$(python3 -c "print(f'{${up:-0} / max($subscribe_seconds, 0.01):.0f}')")/s (load $(load))"
# The last dialogs' first NOTIFYs are still being answered; Kamailio's
# harness waits N/500 + 3 s in all, this one 2 s after the last dialog.
sleep 2
c0=$(cpu)
if [ -n "${FANOUT_PERF:-}" ]; then  # profile the server over the publish phase
    perf record -F 999 -g -o "$FANOUT_PERF" -p "$SERVER" > "$work/perf.log" 2>&1 &
    PERF=$!
fi
(cd "$work" && sipp -sf "$OLDPWD/bench/sipp/fanout_publish.xml" -s 2001 "127.0.0.1:$SIP" -i 127.0.0.1 -p 0 \
    -m 1 -timeout 60s -timeout_error -nostdin -trace_stat -fd 1 > "$work/publisher.out" 2>&1) || true
wait "$WATCHERS" || true
c1=$(cpu)
[ -z "${PERF:-}" ] || { kill -INT "$PERF"; wait "$PERF" || true; }
sleep 1; kill "$TSHARK" 2>/dev/null || true; wait "$TSHARK" 2>/dev/null || true
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

result() { # csv column
    awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } { last = $0 }
        END { split(last, f, ";"); print f[col[name]] + 0 }' "$1"
}
ok=$(result "$(ls "$work"/fanout_watch_*_.csv)" "SuccessfulCall(C)")
failed=$(result "$(ls "$work"/fanout_watch_*_.csv)" "FailedCall(C)")
published=$(result "$(ls "$work"/fanout_publish_*_.csv)" "SuccessfulCall(C)")
cpu_s=$(python3 -c "print(f'{($c1 - $c0) / $(getconf CLK_TCK):.2f}')")
echo "== opendpma fan-out: $N watchers: $ok calls ok, $failed failed; publisher ok $published;" \
    "server CPU during the publish phase $cpu_s s"
# The digest round adds an unauthenticated PUBLISH (answered 401) before
# each change; fanout_waves.py times from each PUBLISH, so those are left
# out of the capture it reads: the clock starts at the PUBLISH that counts.
tshark -r "$work/fanout-$N.pcap" -Y 'not (sip.Method == "PUBLISH" && !sip.Authorization)' \
    -w "$work/fanout-$N-authorized.pcap" 2>/dev/null
python3 "$PEERS/fanout_waves.py" "$work/fanout-$N-authorized.pcap" | tee "$work/waves.txt"
status=0
reached=$(grep -c "wave [123] .*: $N NOTIFY" "$work/waves.txt" || true)
if [ "$failed" -gt 0 ] || [ "$ok" -lt "$N" ] || [ "$published" -lt 1 ] || [ "$reached" -lt 3 ]; then
    echo "FAILED: fan-out ($ok of $N watcher calls ok, $reached of 3 waves reached all $N; see $work)"
    status=1
fi
echo "RESULT fanout server=opendpma watchers=$N subscribed=${up:-0} subscribe_offered_rate=500" \
    "subscribe_seconds=$subscribe_seconds calls_ok=$ok calls_failed=$failed published=$published" \
    "cpu_s=$cpu_s waves_reaching_all=$reached $(waves_kv "$work/waves.txt")"
if [ "$WITH_KAMAILIO" = kamailio ]; then
    echo "== Kamailio (same harness, no auth): $PEERS/bench.sh fanout $N, load $(load)"
    "$PEERS/bench.sh" fanout "$N" 2>&1 | tee "$work/kamailio.txt" || status=1
    # Kamailio is the anchor, not the thing under test: its failed calls
    # are reported (calls_failed) but do not fail this bench.
    kam_ok=$(grep -o 'calls ok=[0-9]*' "$work/kamailio.txt" | head -1 | cut -d= -f2)
    kam_failed=$(grep -o 'failed=[0-9]*' "$work/kamailio.txt" | head -1 | cut -d= -f2)
    kam_cpu=$(grep -o 'publish phase: [0-9.]*' "$work/kamailio.txt" | head -1 | awk '{print $3}')
    kam_reached=$(grep -c "wave [123] .*: $N NOTIFY" "$work/kamailio.txt" || true)
    echo "RESULT fanout server=kamailio watchers=$N calls_ok=${kam_ok:-0} calls_failed=${kam_failed:-0}" \
        "cpu_s=${kam_cpu:-0} waves_reaching_all=$kam_reached $(waves_kv "$work/kamailio.txt")"
fi
exit $status
