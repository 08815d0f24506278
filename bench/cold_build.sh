#!/usr/bin/env bash
# Cold build of the local fleet's binaries: empty Go build cache and empty meshfleet cache
# (the Go module download cache is kept: that is network time, not build time).
# Prints wall time and peak resident memory of the whole build.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export GOCACHE="$scratch/gocache" XDG_CACHE_HOME="$scratch/xdg"
/usr/bin/time -v .venv/bin/python -c 'from fleet.local.binaries import ensure_binaries; ensure_binaries(print)' \
  2> "$scratch/time.txt"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$scratch/time.txt"
