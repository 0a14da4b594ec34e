#!/usr/bin/env bash
# Where throughput stops following the offered rate, and what is left at
# twice that rate (issue 16: "throughput at 2× the knee is at least 90 % of
# throughput at the knee"). One server (digest auth, durable, limits
# lifted), sipp's bench/sipp/{publish,subscribe}_load.xml at offered rates
# that double each step, SECONDS each. The knee is the highest step whose
# achieved rate is ≥ 95 % of the offered one with < 5 % failed calls; the
# next step is 2× the knee. When even the last step keeps up, there is no
# knee below it (sipp shares the 2 cores and is then the limit).
#   bench/knee.sh publish|subscribe [SECONDS] [FIRST_RATE] [STEPS]
# Bounded: STEPS runs of SECONDS each (sipp -m and -timeout). Failed
# calls past the knee are what it measures, so it exits non-zero only
# when it measured nothing (no answer, or not even the first step kept
# up); a 2× point under 90 % of the knee is printed as NOT MET.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?publish|subscribe}; DUR=${2:-5}; RATE=${3:-2500}; STEPS=${4:-4}
work=${KNEE_KEEP:-$(mktemp -d)}; mkdir -p "$work"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KNEE_KEEP:-}" ] || rm -rf "$work"' EXIT
. bench/server_under_test.sh
[ -n "${BENCH_PREBUILT:-}" ] || cargo build --release --quiet
HTTP=$(free_port); ADMIN=$(free_port); SIP=$(free_port)
presence_config "$work/phones.toml" 1000000 'digest_algorithms = ["MD5"]'
./target/release/opendpma --log-level warn serve --config "$work/phones.toml" > "$work/server.log" 2>&1 &
wait_healthy
echo "machine: $(nproc) cores, $(date -u '+%F %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg); $MODE knee, $STEPS steps of ${DUR} s from $RATE/s"
steps=()
for step in $(seq "$STEPS"); do
    calls=$((RATE * DUR))
    mkdir -p "$work/$step"
    t0=$(date +%s.%N)
    (cd "$work/$step" && sipp -sf "$OLDPWD/bench/sipp/${MODE}_load.xml" -s 2001 "127.0.0.1:$SIP" -i 127.0.0.1 -p 0 \
        -m "$calls" -r "$RATE" -l 30000 -timeout $((DUR + 20))s -nostdin -buff_size 8388608 \
        -trace_stat -fd 1 -trace_err > sipp.out 2>&1) || true
    t1=$(date +%s.%N)
    read -r ok failed < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i;next}{l=$0}END{split(l,f,";");print f[c["SuccessfulCall(C)"]]+0, f[c["FailedCall(C)"]]+0}' "$work/$step"/*_.csv)
    achieved=$(python3 -c "print(round($ok / ($t1 - $t0)))")
    echo "offered $RATE/s ($calls calls): ok $ok failed $failed, achieved $achieved/s"
    result knee_step mode="$MODE" offered_rate="$RATE" calls="$calls" ok="$ok" failed="$failed" achieved_rate="$achieved"
    steps+=("$RATE $calls $ok $failed $achieved")
    RATE=$((RATE * 2))
    curl -s -H "Authorization: Bearer bench" "http://127.0.0.1:$ADMIN/metrics" | grep -E "^opendpma_(sip_requests_shed|store_shed|sip_)" > "$work/$step/metrics" || true
    sleep 1
done
printf '%s\n' "${steps[@]}" | python3 -c '
import sys
mode = sys.argv[1]
steps = [tuple(int(x) for x in line.split()) for line in sys.stdin if line.strip()]
keeps = [i for i, (rate, calls, ok, failed, achieved) in enumerate(steps)
         if achieved >= 0.95 * rate and failed < 0.05 * calls]
knee = max(keeps) if keeps else None
if knee is None:
    print(f"RESULT knee mode={mode} knee_rate=none")
    print("FAILED: not even the first step kept up"); sys.exit(1)
if knee + 1 >= len(steps):
    print(f"no knee up to {steps[knee][0]}/s offered: every step kept up")
    print(f"RESULT knee mode={mode} knee_rate=none_below_{steps[knee][0]} knee_achieved={steps[knee][4]}")
    sys.exit(0)
at_knee, beyond = steps[knee][4], steps[knee + 1][4]
ratio = beyond / at_knee
print(f"knee at {steps[knee][0]}/s offered ({at_knee}/s achieved); at {steps[knee + 1][0]}/s: {beyond}/s, {ratio:.0%} of the knee")
print(f"RESULT knee mode={mode} knee_rate={steps[knee][0]} knee_achieved={at_knee} double_achieved={beyond} ratio={ratio:.3f}")
print("target (2x the knee >= 90 % of the knee):", "met" if ratio >= 0.9 else "NOT MET")
' "$MODE"
