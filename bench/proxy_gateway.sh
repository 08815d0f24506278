#!/bin/sh
# What a multicluster gateway hop adds to a meshed request (see bench/proxy/gateway.py).
# Usage: bench/proxy_gateway.sh [--rounds N] [--seconds S] [--rate R] [--update-results]
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.proxy.gateway "$@"
