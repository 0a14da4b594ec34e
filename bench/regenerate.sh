#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md from the current code: every bench in
# bench/ and benches/ once, one after the other, each under a time limit,
# then the document from scratch (bench/regenerate.py says how). Exits
# non-zero when any bench failed. Run it on a quiet machine; --tiny or
# --smoke scale every bench down to a smoke size (see --help).
#   bench/regenerate.sh [--tiny | --smoke] [--only KEY,…] [--out PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
exec python3 bench/regenerate.py "$@"
