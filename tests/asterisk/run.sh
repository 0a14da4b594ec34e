#!/bin/bash
# Runs the Asterisk 22 used by opendpma's tests inside a Debian sid chroot
# (default /opt/sid, built by setup-chroot.sh). Loopback only: SIP udp+tcp
# 127.0.0.1:5290, AMI 127.0.0.1:5238 (ports apart from other Asterisks here).
#   run.sh start     copy configs, wipe astdb (KEEP_DB=1 keeps it), start, wait until booted
#   run.sh stop      SIGTERM by PID, wait for exit
#   run.sh restart   stop + start
#   run.sh cli "CMD" one CLI command
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT=${ASTERISK_CHROOT:-/opt/sid}
NAME=asterisk-opendpma-test
ETC=/etc/$NAME RUN=/run/$NAME LOG=/var/log/$NAME DB=/var/lib/$NAME
STATE="${TMPDIR:-/tmp}/opendpma-asterisk-test"
PIDFILE="$STATE/asterisk.pid"
CONFS="asterisk.conf pjsip.conf extensions.conf manager.conf modules.conf logger.conf rtp.conf pjsip_notify.conf"

cli() { chroot "$ROOT" /usr/sbin/asterisk -C "$ETC/asterisk.conf" -rx "$1"; }
pid() { [ -f "$PIDFILE" ] && cat "$PIDFILE"; }
# the recorded PID exists and is still asterisk (never signal a reused PID)
alive() { local p; p=$(pid) && [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = asterisk ]; }

start() {
  if alive; then echo "already running (pid $(pid))"; return 0; fi
  [ -x "$ROOT/usr/sbin/asterisk" ] || { echo "no asterisk in $ROOT"; return 1; }
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
  mkdir -p "$STATE"
  install -d -m 0755 "$ROOT$ETC" "$ROOT$RUN" "$ROOT$LOG" "$ROOT$DB"
  for f in $CONFS; do install -m 0644 "$HERE/$f" "$ROOT$ETC/$f"; done
  chroot "$ROOT" chown asterisk:asterisk "$RUN" "$LOG" "$DB"
  [ "${KEEP_DB:-0}" = 1 ] || rm -f "$ROOT$DB"/astdb.sqlite3*
  nohup chroot "$ROOT" /usr/sbin/asterisk -f -n -U asterisk -G asterisk -C "$ETC/asterisk.conf" \
    </dev/null >"$STATE/asterisk.stdout" 2>&1 &
  echo $! > "$PIDFILE"
  # bounded: 300 x 0.1 s
  for _ in $(seq 300); do
    # right after the spawn, comm may still read nohup/chroot (before exec): only a gone PID is a failure
    kill -0 "$(pid)" 2>/dev/null || { echo "asterisk exited:"; tail -20 "$STATE/asterisk.stdout"; return 1; }
    if cli "core waitfullybooted" 2>/dev/null | grep -q "fully booted"; then
      echo "asterisk up (pid $(pid))"; return 0
    fi
    sleep 0.1
  done
  echo "asterisk did not become ready"; return 1
}

stop() {
  alive || { rm -f "$PIDFILE"; echo "not running"; return 0; }
  local p; p=$(pid)
  kill -TERM "$p"
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || { rm -f "$PIDFILE"; echo "stopped"; return 0; }; sleep 0.1; done
  kill -KILL "$p"; rm -f "$PIDFILE"; echo "killed"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  cli) shift; alive || { echo "not running"; exit 1; }; cli "$*" ;;
  *) echo "usage: $0 start|stop|restart|cli \"<command>\""; exit 2 ;;
esac
