#!/usr/bin/env bash
# Make sure the Redis and PostgreSQL the integration tests use are up (start or install them
# if not). Safe to run when they already are. Honors REDIS_URL host/port only for the check.
set -u
log() { echo "ensure-services: $*" >&2; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"

redis_up() { python3 - <<'PY'
import socket,sys
s=socket.socket(); s.settimeout(1)
try:
    s.connect(("127.0.0.1",6379)); s.sendall(b"PING\r\n"); sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
except OSError: sys.exit(1)
PY
}
pg_up() { python3 - <<'PY'
import socket,sys
s=socket.socket(); s.settimeout(1)
try: s.connect(("127.0.0.1",5432)); sys.exit(0)
except OSError: sys.exit(1)
PY
}
apt_install() {
  command -v apt-get >/dev/null || { log "cannot install $*: no apt-get"; return 1; }
  $SUDO apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis on 127.0.0.1:6379"
  mkdir -p /tmp/remedy-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/remedy-redis --logfile /tmp/remedy-redis/redis.log
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
fi
redis_up && log "Redis is up" || { log "Redis is NOT reachable on 127.0.0.1:6379"; exit 1; }

if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  log "starting PostgreSQL"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 100); do pg_up && break; sleep 0.1; done
fi
pg_up && log "PostgreSQL is up" || { log "PostgreSQL is NOT reachable on 127.0.0.1:5432"; exit 1; }

# The tests use database `test` as user postgres with trust auth (as on the CI machine).
if command -v psql >/dev/null; then
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    $SUDO -u postgres psql -c "CREATE DATABASE test" >/dev/null 2>&1 || \
      su postgres -c "psql -c 'CREATE DATABASE test'" >/dev/null 2>&1 || true
  fi
fi
exit 0
