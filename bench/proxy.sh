#!/bin/sh
# Proxy benchmark (issue 6): direct vs an haproxy pair vs a meshfleet proxy pair, side by side.
# Usage: bench/proxy.sh [--update-results] [--rounds N] [--profile] ...   (see --help)
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.proxy.run "$@"
