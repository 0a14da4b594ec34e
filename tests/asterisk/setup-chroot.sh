#!/bin/bash
# Builds the Debian sid chroot with Asterisk 22 that tests/asterisk.rs runs
# (default /opt/sid; ASTERISK_CHROOT=... for another place). Idempotent: a
# chroot that already has /usr/sbin/asterisk is kept (the cache), so only
# the first run downloads (~40 s, ~640 MB, Debian's package registry only).
set -euo pipefail
ROOT=${ASTERISK_CHROOT:-/opt/sid}
if [ -x "$ROOT/usr/sbin/asterisk" ]; then
  echo "Asterisk chroot present: $(chroot "$ROOT" /usr/sbin/asterisk -V)"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
# A half-built chroot (interrupted run) is finished, not started over.
[ -x "$ROOT/usr/bin/apt-get" ] || debootstrap --variant=minbase sid "$ROOT"
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
# sid's Release files may be past Valid-Until on a frozen mirror snapshot.
chroot "$ROOT" apt-get -o Acquire::Check-Valid-Until=false update -qq
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false \
  install -y -qq --no-install-recommends asterisk asterisk-modules >/dev/null
echo "Asterisk chroot built: $(chroot "$ROOT" /usr/sbin/asterisk -V)"
