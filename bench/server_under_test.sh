# Sourced by the bench scripts: free loopback ports, the presence config
# every SIP bench runs the server with, and the wait for it to answer.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# presence_config FILE SUBSCRIPTIONS SIP_AUTH_LINE: lines 2000 and 2001 on
# $HTTP/$SIP/$ADMIN (admin token "bench"). sipp is one address, and the
# watchers of a fan-out watch one line, so the per-address and per-line
# limits are lifted to SUBSCRIPTIONS + 100, and the per-address HTTP rate
# (the benches poll /metrics and /healthz) is lifted: the run measures the
# server, not the limiter. SIP_AUTH_LINE is the [sip] auth setting of the run
# (`digest_algorithms = ["MD5"]`, as sipp answers only MD5, or
# `require_auth = false`).
presence_config() {
    cat > "$1" <<TOML
[general]
server_address = "127.0.0.1"
[http]
listen = "127.0.0.1:$HTTP"
[sip]
listen = ["udp:127.0.0.1:$SIP"]
$3
[admin]
listen = "127.0.0.1:$ADMIN"
token = "bench"
[limits]
sip_requests_per_second = 0
http_requests_per_second = 0
subscriptions_per_ip = $(($2 + 100))
subscriptions_per_line = $(($2 + 100))
[lines.2000]
secret = "bench-2000"
[lines.2001]
secret = "bench-2001"
TOML
}

# Waits (at most 10 s) until the admin listener answers /healthz; fails
# (and so, under `set -e`, the bench) when it never does, rather than
# measuring a server that is not there.
wait_healthy() {
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null && return; sleep 0.1; done
    echo "FAILED: the server did not answer /healthz within 10 s"
    return 1
}

# The machine-readable summary every bench prints, one line per measured
# thing, read by bench/regenerate.py: `RESULT <bench> key=value …`
# (values without spaces; times in the unit their key names).
result() { echo "RESULT $*"; }
