#!/usr/bin/env bash
# Start PostgreSQL and Redis when they are not answering; used by `make test`, `make run` and CI.
set -euo pipefail

port_open() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

wait_port() {
  for _ in $(seq 1 50); do
    port_open "$1" && return 0
    sleep 0.2
  done
  echo "services: nothing answers on port $1 ($2)" >&2
  return 1
}

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    echo "services: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
  wait_port 5432 PostgreSQL
fi

if ! port_open 6379; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  fi
  wait_port 6379 Redis
fi
