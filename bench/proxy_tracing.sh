#!/bin/sh
# What recording and exporting spans costs the meshfleet proxy pair (see bench/proxy/tracing.py).
# Usage: bench/proxy_tracing.sh [--rounds N] [--seconds S] [--update-results]
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.proxy.tracing "$@"
