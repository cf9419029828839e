#!/usr/bin/env bash
# A replicated PostgreSQL 15 on loopback: one etcd and three Patroni-managed
# nodes with synchronous (or asynchronous) replication. See README.md here.
#
#   cluster.sh up [sync|async]   install what is missing, start, wait until
#                                healthy, print the multi-host URL
#   cluster.sh down              stop every process it started (by PID) and
#                                remove its data directories
#   cluster.sh status            the members as Patroni's REST API reports them
#   cluster.sh url               the multi-host URL
#   cluster.sh start-node N      start node N's Patroni again (after a kill)
#   cluster.sh wait-healthy      wait until leader + standbys are running
#
# Run as root: PostgreSQL refuses root, so Patroni and PostgreSQL run as the
# postgres OS user. Everything lives under $OCPSTORE_HA_DIR (default
# /tmp/ocpstore-ha) and on the ports below; the machine's own server (5432,
# /var/run/postgresql) is never touched.
set -euo pipefail

HA_DIR=${OCPSTORE_HA_DIR:-/tmp/ocpstore-ha}
PG_BIN=${OCPSTORE_HA_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORTS=(5461 5462 5463)
API_PORTS=(8061 8062 8063)
ETCD_CLIENT=2479
ETCD_PEER=2480
SCOPE=ocpstore-ha
DB=ocpstore
HEALTHY_TIMEOUT=${OCPSTORE_HA_TIMEOUT:-120}

log() { echo "ha: $*" >&2; }
die() { log "$*"; exit 1; }

# alive PID WORD: PID is a live process whose command line contains WORD
# (so a PID reused by an unrelated process is never signalled).
alive() {
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}

url() {
  local hosts=""
  for p in "${PG_PORTS[@]}"; do hosts+="${hosts:+,}127.0.0.1:$p"; done
  echo "postgres://postgres@$hosts/$DB?sslmode=disable&target_session_attrs=read-write&connect_timeout=2"
}

install_missing() {
  local missing=()
  command -v patroni >/dev/null || missing+=(patroni)
  command -v etcd >/dev/null || missing+=(etcd-server)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  [ -x "$PG_BIN/postgres" ] || die "PostgreSQL 15 binaries not found in $PG_BIN (set OCPSTORE_HA_PG_BIN)"
}

# as_postgres CMD...: run CMD as the postgres OS user in a session of its
# own, in the background, output to the log given as $LOG; prints its PID
# (setsid and setpriv exec, so $! is CMD's own PID).
as_postgres() {
  setsid setpriv --reuid=postgres --regid=postgres --init-groups \
    env HOME="$HA_DIR" PATH="$PG_BIN:/usr/bin:/bin" "$@" </dev/null >>"$LOG" 2>&1 &
  echo $!
}

start_etcd() {
  LOG=$HA_DIR/etcd.log
  as_postgres etcd --name ha-etcd --data-dir "$HA_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "ha-etcd=http://127.0.0.1:$ETCD_PEER" --initial-cluster-state new \
    --initial-cluster-token "$SCOPE" >"$HA_DIR/etcd.pid"
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$ETCD_CLIENT/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "etcd did not become healthy; see $HA_DIR/etcd.log"
}

# write_config N MODE: node N's Patroni configuration.
write_config() {
  local n=$1 mode=$2 i=$(($1 - 1)) dir=$HA_DIR/node$1 sync=false
  [ "$mode" = sync ] && sync=true
  mkdir -p "$dir/socket"
  cat >"$dir/patroni.yml" <<YAML
scope: $SCOPE
name: node$n
log:
  level: INFO
restapi:
  listen: 127.0.0.1:${API_PORTS[$i]}
  connect_address: 127.0.0.1:${API_PORTS[$i]}
etcd3:
  hosts: 127.0.0.1:$ETCD_CLIENT
bootstrap:
  dcs:
    # loop_wait + 2 * retry_timeout <= ttl must hold.
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    # 0: a leader whose postmaster died fails over instead of being
    # restarted in place.
    primary_start_timeout: 0
    maximum_lag_on_failover: 1048576
    synchronous_mode: $sync
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: "on"
        max_connections: 100
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        shared_buffers: 64MB
  initdb:
  - encoding: UTF8
  - locale: C.UTF-8
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 trust
  - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:${PG_PORTS[$i]}
  connect_address: 127.0.0.1:${PG_PORTS[$i]}
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
      password: replicator
    rewind:
      username: postgres
  parameters:
    # Its own socket directory: never the system server's.
    unix_socket_directories: $dir/socket
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
YAML
}

start_node() {
  local n=$1 dir=$HA_DIR/node$1
  [ -f "$dir/patroni.yml" ] || die "node $n has no configuration; run up first"
  if alive "$(cat "$dir/patroni.pid" 2>/dev/null)" patroni; then die "node $n's Patroni is already running"; fi
  LOG=$dir/patroni.log
  as_postgres patroni "$dir/patroni.yml" >"$dir/patroni.pid"
}

# members: one line per member, "name role state lag", from the first REST
# API that answers.
members() {
  local body=""
  for p in "${API_PORTS[@]}"; do
    body=$(curl -fsS --max-time 2 "http://127.0.0.1:$p/cluster" 2>/dev/null) && break
  done
  [ -n "$body" ] || return 1
  /usr/bin/python3 -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    print(m["name"], m.get("role", "?"), m.get("state", "?"), m.get("lag", 0))' <<<"$body"
}

# healthy MODE: one running leader and two running standbys, one of them
# the synchronous standby in sync mode.
healthy() {
  local out
  out=$(members) || return 1
  [ "$(grep -c ' leader running ' <<<"$out")" = 1 ] || return 1
  [ "$(grep -Ec ' (sync_standby|replica) (running|streaming) ' <<<"$out")" = 2 ] || return 1
  if [ "$1" = sync ]; then grep -Eq ' sync_standby (running|streaming) ' <<<"$out" || return 1; fi
}

mode() { cat "$HA_DIR/mode" 2>/dev/null || echo sync; }

wait_healthy() {
  local m; m=$(mode)
  for _ in $(seq 1 $((HEALTHY_TIMEOUT * 5))); do
    healthy "$m" && return 0
    sleep 0.2
  done
  members >&2 || true
  die "not healthy after ${HEALTHY_TIMEOUT}s; logs in $HA_DIR/node*/patroni.log"
}

leader_port() {
  local name; name=$(members | awk '$2 == "leader" {print $1}')
  [ -n "$name" ] || return 1
  echo "${PG_PORTS[$((${name#node} - 1))]}"
}

up() {
  local m=${1:-sync}
  [ "$m" = sync ] || [ "$m" = async ] || die "mode must be sync or async, not $m"
  [ "$(id -u)" = 0 ] || die "run as root (PostgreSQL runs as the postgres user)"
  [ ! -e "$HA_DIR" ] || die "$HA_DIR exists: run '$0 down' first"
  install_missing
  mkdir -p "$HA_DIR"
  echo "$m" >"$HA_DIR/mode"
  for n in 1 2 3; do write_config "$n" "$m"; done
  chown -R postgres:postgres "$HA_DIR"
  chmod 700 "$HA_DIR"/node*
  start_etcd
  for n in 1 2 3; do
    start_node "$n"
    # The first node bootstraps alone; the others clone from it.
    if [ "$n" = 1 ]; then
      for _ in $(seq 1 300); do members 2>/dev/null | grep -q ' leader running ' && break; sleep 0.2; done
    fi
  done
  wait_healthy
  local port; port=$(leader_port)
  psql -qAt -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
    psql -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $DB" >/dev/null
  log "healthy ($m replication):"
  members | sed 's/^/ha:   /' >&2
  url
}

# stop_pid FILE WORD: SIGTERM the process in FILE, SIGKILL it after 20 s.
stop_pid() {
  local pid; pid=$(cat "$1" 2>/dev/null || true)
  alive "$pid" "$2" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do alive "$pid" "$2" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# kill_postmaster DIR: SIGKILL the postmaster of data directory DIR, if it
# still runs, and its children.
kill_postmaster() {
  local pid child
  pid=$(head -n1 "$1/postmaster.pid" 2>/dev/null || true)
  alive "$pid" postgres || return 0
  for child in $(grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3); do
    kill -KILL "$child" 2>/dev/null || true
  done
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  [ -d "$HA_DIR" ] || return 0
  for n in 1 2 3; do stop_pid "$HA_DIR/node$n/patroni.pid" patroni & done
  wait
  for n in 1 2 3; do kill_postmaster "$HA_DIR/node$n/data"; done
  stop_pid "$HA_DIR/etcd.pid" etcd
  rm -rf "$HA_DIR"
  log "down"
}

case ${1:-} in
up) up "${2:-sync}" ;;
down) down ;;
status) members ;;
url) url ;;
start-node) start_node "${2:?node number}" ;;
wait-healthy) wait_healthy ;;
*) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
