"""Side-by-side benchmark of the meshfleet proxy pair against a direct path and an haproxy pair.

Run it with ``bench/proxy.sh``; ``bench.proxy.run`` is the orchestration,
``bench.proxy.pair`` starts a meshfleet proxy pair as real processes (also
used by the Prometheus integration test), ``bench.proxy.configs`` renders
the nginx and haproxy configurations, ``bench.proxy.loadgen`` drives wrk and
vegeta and ``bench.proxy.report`` turns measurements into the results table.
"""
