"""Configuration text for the benchmark's nginx backend and haproxy pair (pure: values in, text out)."""

from __future__ import annotations

from pathlib import Path

BACKEND_BODY = "hello from the backend\n"


def nginx_conf(workdir: Path, port: int) -> str:
    """One process, no access log, a fixed small body, keep-alive that never runs out during a run."""
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/nginx-body;
  proxy_temp_path {workdir}/nginx-proxy;
  fastcgi_temp_path {workdir}/nginx-fastcgi;
  uwsgi_temp_path {workdir}/nginx-uwsgi;
  scgi_temp_path {workdir}/nginx-scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ default_type text/plain; return 200 "{BACKEND_BODY.rstrip()}\\n"; }}
  }}
}}
"""


_HAPROXY_COMMON = """global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 300s
"""


def haproxy_client_side(listen_port: int, peer_port: int, crt: Path, bundle: Path, peer_identity: str) -> str:
    """Haproxy A: plain HTTP in, TLS 1.3 out with a client certificate, peer verified by name."""
    return (
        _HAPROXY_COMMON
        + f"""frontend app_outbound
  bind 127.0.0.1:{listen_port}
  default_backend mesh_peer
backend mesh_peer
  http-reuse always
  server peer 127.0.0.1:{peer_port} ssl crt {crt} ca-file {bundle} verify required verifyhost {peer_identity} \
sni str({peer_identity}) ssl-min-ver TLSv1.3
"""
    )


def haproxy_server_side(listen_port: int, backend_port: int, crt: Path, bundle: Path) -> str:
    """Haproxy B: TLS 1.3 in, client certificate required and verified, plain HTTP to the backend."""
    return (
        _HAPROXY_COMMON
        + f"""frontend mesh_inbound
  bind 127.0.0.1:{listen_port} ssl crt {crt} ca-file {bundle} verify required ssl-min-ver TLSv1.3
  default_backend app
backend app
  http-reuse always
  server app 127.0.0.1:{backend_port}
"""
    )
