#!/usr/bin/env bash
# Run a real Apache Pulsar standalone broker (with its WebSocket service) for the real-broker tests.
#
#   scripts/pulsar.sh [--auth] start|stop|status|restart
#   scripts/pulsar.sh classpath        # only resolve (and cache) the broker classpath from Maven Central
#
# Instances: `default` (no auth) and `auth` (--auth: JWT token authentication + authorization).
# Everything lives under target/pulsar/:
#   pulsar.cp                      classpath resolved by Maven from scripts/pulsar/pom.xml (cached)
#   <instance>/standalone.conf     generated from scripts/pulsar/standalone.conf
#   <instance>/ports.env           the ports picked at `start` (reused by `restart`)
#   <instance>/data/               metadata (RocksDB) and bookie data; wiped by `start`, kept by `restart`
#   <instance>/logs/pulsar.log     broker log (log4j2, scripts/pulsar/log4j2.xml); stdout.log: JVM stdout/stderr
#   <instance>/broker.env          what the tests read (PULSAR_WS_URL, PULSAR_ADMIN_URL, ...; tokens for auth)
#   <instance>/pid                 pid of the java process started here
#
# Environment knobs: PULSAR_START_TIMEOUT (s, default 180), PULSAR_STOP_TIMEOUT (s, default 30),
# PULSAR_HEAP (default 512m), PULSAR_EXTRA_JAVA_OPTS (e.g. -Duser.timezone=Europe/Berlin).
# See docs/testing.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CONF_DIR="$SCRIPT_DIR/pulsar"
POM="$CONF_DIR/pom.xml"
PULSAR_HOME="$ROOT/target/pulsar"
CP_FILE="$PULSAR_HOME/pulsar.cp"
START_TIMEOUT="${PULSAR_START_TIMEOUT:-180}"
STOP_TIMEOUT="${PULSAR_STOP_TIMEOUT:-30}"
HEAP="${PULSAR_HEAP:-512m}"

log() { echo "[pulsar.sh${INSTANCE:+ $INSTANCE}] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

INSTANCE=default
FLAG="" # the command-line flag that selects this instance, for messages
CMD=""
for arg in "$@"; do
  case "$arg" in
    --auth) INSTANCE=auth FLAG=--auth ;;
    start | stop | status | restart | classpath) CMD="$arg" ;;
    -h | --help) usage ;;
    *) log "unknown argument: $arg"; usage ;;
  esac
done
[ -n "$CMD" ] || usage

INST_DIR="$PULSAR_HOME/$INSTANCE"
PID_FILE="$INST_DIR/pid"
PORTS_FILE="$INST_DIR/ports.env"
ENV_FILE="$INST_DIR/broker.env"
AUTH_FILE="$INST_DIR/auth.env"
DATA_DIR="$INST_DIR/data"
LOG_DIR="$INST_DIR/logs"
LOG_FILE="$LOG_DIR/pulsar.log"

# Value of KEY in a KEY=VALUE file (last one wins).
kv() { sed -n "s/^$2=//p" "$1" 2>/dev/null | tail -n 1; }

pulsar_version() { sed -n 's:.*<pulsar.version>\(.*\)</pulsar.version>.*:\1:p' "$POM" | head -n 1; }

# ---------------------------------------------------------------------------------------------
# Classpath (resolved once by Maven, cached in target/pulsar/pulsar.cp)
# ---------------------------------------------------------------------------------------------
cp_is_fresh() {
  [ -s "$CP_FILE" ] && [ "$CP_FILE" -nt "$POM" ] || return 1
  # Every jar must still be in the local repository (a wiped ~/.m2 needs a new resolution).
  local jar
  while IFS= read -r jar; do
    [ -z "$jar" ] || [ -f "$jar" ] || return 1
  done < <(tr ':' '\n' < "$CP_FILE")
}

resolve_classpath() {
  mkdir -p "$PULSAR_HOME"
  command -v mvn > /dev/null || die "mvn not found (install Maven 3.x)"
  exec 8> "$PULSAR_HOME/.classpath.lock"
  flock 8 # the two instances may start in parallel: resolve only once
  if cp_is_fresh; then
    exec 8>&-
    return 0
  fi
  local t0 tmp
  t0=$(now)
  tmp="$CP_FILE.tmp.$$"
  log "resolving the Pulsar $(pulsar_version) classpath with Maven (first run downloads ~260 MB into ~/.m2)..."
  if ! mvn -B -q -f "$POM" dependency:build-classpath -Dmdep.outputFile="$tmp" > "$PULSAR_HOME/mvn.log" 2>&1; then
    tail -n 40 "$PULSAR_HOME/mvn.log" >&2
    rm -f "$tmp"
    die "Maven could not resolve the broker classpath (full log: $PULSAR_HOME/mvn.log)"
  fi
  mv -f "$tmp" "$CP_FILE"
  log "classpath resolved in $(elapsed "$t0")s ($(tr ':' '\n' < "$CP_FILE" | wc -l) jars)"
  exec 8>&-
}

# ---------------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------------
# Picks WEB, BROKER and BOOKIE ports that are free on 127.0.0.1 and 0.0.0.0, outside the kernel's
# ephemeral range (the broker opens many loopback client connections to itself), and not used by
# the other instance.
pick_ports() {
  mkdir -p "$PULSAR_HOME" "$INST_DIR"
  exec 9> "$PULSAR_HOME/.ports.lock"
  flock 9
  local taken=""
  local f
  for f in "$PULSAR_HOME"/*/ports.env; do
    [ -f "$f" ] && [ "$f" != "$PORTS_FILE" ] && taken="$taken $(kv "$f" WEB_PORT) $(kv "$f" BROKER_PORT) $(kv "$f" BOOKIE_PORT)"
  done
  TAKEN="$taken" python3 - > "$PORTS_FILE.tmp" << 'EOF'
import os, random, socket
taken = {int(p) for p in os.environ.get("TAKEN", "").split() if p.isdigit()}
def free(port):
    for host in ("127.0.0.1", "0.0.0.0"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True
chosen = []
rng = random.SystemRandom()
for _ in range(10000):
    p = rng.randrange(20000, 32000)
    if p in taken or p in chosen or not free(p):
        continue
    chosen.append(p)
    if len(chosen) == 3:
        break
else:
    raise SystemExit("no free ports found")
print("WEB_PORT=%d\nBROKER_PORT=%d\nBOOKIE_PORT=%d" % tuple(chosen))
EOF
  mv -f "$PORTS_FILE.tmp" "$PORTS_FILE"
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# Auth material (auth instance): HS256 secret key and JWTs, made with the Python stdlib only
# ---------------------------------------------------------------------------------------------
gen_auth() {
  mkdir -p "$INST_DIR"
  python3 - "$INST_DIR" > "$AUTH_FILE.tmp" << 'EOF'
import base64, hashlib, hmac, json, os, sys
d = sys.argv[1]
key = os.urandom(32)
with open(os.path.join(d, "secret.key"), "wb") as f:
    f.write(key)
other = os.urandom(32)
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def jwt(sub, k):
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64(json.dumps({"sub": sub}, separators=(",", ":")).encode())
    sig = hmac.new(k, (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64(sig)
print("PULSAR_ADMIN_TOKEN=" + jwt("admin", key))
print("PULSAR_READER_TOKEN=" + jwt("reader", key))
print("PULSAR_NOPERM_TOKEN=" + jwt("nobody", key))
print("PULSAR_BAD_TOKEN=" + jwt("admin", other))
EOF
  mv -f "$AUTH_FILE.tmp" "$AUTH_FILE"
  chmod 600 "$AUTH_FILE" "$INST_DIR/secret.key"
}

write_conf() {
  local web broker bookie
  web=$(kv "$PORTS_FILE" WEB_PORT)
  broker=$(kv "$PORTS_FILE" BROKER_PORT)
  bookie=$(kv "$PORTS_FILE" BOOKIE_PORT)
  sed -e "s/@WEB_PORT@/$web/g" -e "s/@BROKER_PORT@/$broker/g" -e "s/@BOOKIE_PORT@/$bookie/g" \
    "$CONF_DIR/standalone.conf" > "$INST_DIR/standalone.conf.tmp"
  if [ "$INSTANCE" = auth ]; then
    sed -i -e 's/^authenticationEnabled=false$/authenticationEnabled=true/' \
      -e 's/^authorizationEnabled=false$/authorizationEnabled=true/' "$INST_DIR/standalone.conf.tmp"
    cat >> "$INST_DIR/standalone.conf.tmp" << EOF

### Added by scripts/pulsar.sh for the auth instance ###
authenticationProviders=org.apache.pulsar.broker.authentication.AuthenticationProviderToken
tokenSecretKey=file://$INST_DIR/secret.key
superUserRoles=admin
# The broker (its WebSocket service and admin client) talks to itself as "admin".
brokerClientAuthenticationPlugin=org.apache.pulsar.client.impl.auth.AuthenticationToken
brokerClientAuthenticationParameters=token:$(kv "$AUTH_FILE" PULSAR_ADMIN_TOKEN)
EOF
  fi
  mv -f "$INST_DIR/standalone.conf.tmp" "$INST_DIR/standalone.conf"
}

# ---------------------------------------------------------------------------------------------
# Process handling
# ---------------------------------------------------------------------------------------------
# The pid in $PID_FILE if that process is alive AND is our broker (guards against pid reuse).
our_pid() {
  local pid
  pid=$(cat "$PID_FILE" 2> /dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -q "PulsarStandaloneStarter.*$INST_DIR/standalone.conf" || return 1
  echo "$pid"
}

admin_token() {
  if [ "$INSTANCE" = auth ]; then kv "$AUTH_FILE" PULSAR_ADMIN_TOKEN; fi
}

# curl against the admin API of this instance; prints the body.
admin_curl() {
  local path="$1"
  shift
  local tok
  tok=$(admin_token)
  local url
  url="http://127.0.0.1:$(kv "$PORTS_FILE" WEB_PORT)$path"
  if [ -n "$tok" ]; then
    curl -sS --max-time 10 -H "Authorization: Bearer $tok" "$@" "$url"
  else
    curl -sS --max-time 10 "$@" "$url"
  fi
}

is_ready() {
  admin_curl /admin/v2/namespaces/public -f 2> /dev/null | grep -q '"public/default"' &&
    [ "$(admin_curl /admin/v2/brokers/health -f 2> /dev/null)" = ok ]
}

show_log_tail() {
  log "---- last lines of $LOG_FILE ----"
  tail -n 60 "$LOG_FILE" 2> /dev/null | cut -c1-400 >&2 || true
  log "---- last lines of $LOG_DIR/stdout.log ----"
  grep -v -e WadlFeature -e 'WADL feature' "$LOG_DIR/stdout.log" 2> /dev/null | tail -n 20 | cut -c1-400 >&2 || true
}

launch() {
  [ -f "$CP_FILE" ] || die "classpath missing"
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  # A leftover ZooKeeper data dir would switch the standalone to the heavier ZooKeeper mode.
  [ -z "${PULSAR_STANDALONE_USE_ZOOKEEPER:-}" ] || die "unset PULSAR_STANDALONE_USE_ZOOKEEPER"
  rm -rf "$INST_DIR/data/standalone/zookeeper"
  local bookie
  bookie=$(kv "$PORTS_FILE" BOOKIE_PORT)
  # shellcheck disable=SC2086
  (
    cd "$INST_DIR" # relative defaults of the starter (data/standalone/...) stay inside the instance dir
    exec nohup java -Xms"$HEAP" -Xmx"$HEAP" -XX:MaxDirectMemorySize=512m \
      --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.io=ALL-UNNAMED \
      --add-opens java.base/java.util=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED \
      --add-opens java.base/jdk.internal.misc=ALL-UNNAMED --add-opens java.base/sun.net=ALL-UNNAMED \
      --add-opens java.base/jdk.internal.platform=ALL-UNNAMED \
      --add-opens java.management/sun.management=ALL-UNNAMED \
      --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED \
      -Dio.netty.tryReflectionSetAccessible=true -Djava.net.preferIPv4Stack=true \
      -Dlog4j2.configurationFile="$CONF_DIR/log4j2.xml" -Dpulsar.log.file="$LOG_FILE" \
      -Djava.io.tmpdir="$INST_DIR/tmp" \
      ${PULSAR_EXTRA_JAVA_OPTS:-} \
      -cp "$(cat "$CP_FILE")" org.apache.pulsar.PulsarStandaloneStarter \
      --config "$INST_DIR/standalone.conf" --no-functions-worker --no-stream-storage \
      --bookkeeper-port "$bookie" \
      --metadata-dir "$DATA_DIR/metadata" --bookkeeper-dir "$DATA_DIR/bookkeeper"
  ) >> "$LOG_DIR/stdout.log" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
}

wait_ready() {
  local t0="$1" pid deadline
  pid=$(cat "$PID_FILE")
  deadline=$(($(date +%s) + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2> /dev/null; then
      show_log_tail
      die "broker process $pid exited during startup"
    fi
    if is_ready; then
      break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      show_log_tail
      die "broker not ready after ${START_TIMEOUT}s (pid $pid still running; stop it with: $0 $FLAG stop)"
    fi
    sleep 0.5
  done
  log "ready in $(elapsed "$t0")s (pid $pid, web port $(kv "$PORTS_FILE" WEB_PORT))"
}

grant_permissions() {
  # role "reader" may consume in public/default; role "nobody" gets nothing.
  local code
  code=$(admin_curl /admin/v2/namespaces/public/default/permissions/reader -o /dev/null -w '%{http_code}' \
    -X POST -H 'Content-Type: application/json' --data '["consume"]')
  case "$code" in
    2??) ;;
    *) die "granting consume on public/default to role reader failed: HTTP $code" ;;
  esac
}

write_env() {
  local web broker
  web=$(kv "$PORTS_FILE" WEB_PORT)
  broker=$(kv "$PORTS_FILE" BROKER_PORT)
  {
    echo "PULSAR_INSTANCE=$INSTANCE"
    echo "PULSAR_VERSION=$(pulsar_version)"
    echo "PULSAR_WS_URL=ws://127.0.0.1:$web"
    echo "PULSAR_ADMIN_URL=http://127.0.0.1:$web"
    echo "PULSAR_BROKER_URL=pulsar://127.0.0.1:$broker"
    echo "PULSAR_PID=$(cat "$PID_FILE")"
    echo "PULSAR_DATA_DIR=$DATA_DIR"
    echo "PULSAR_LOG_FILE=$LOG_FILE"
    if [ "$INSTANCE" = auth ]; then
      cat "$AUTH_FILE"
    fi
  } > "$ENV_FILE.tmp"
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

do_stop() {
  local pid t0
  if ! pid=$(our_pid); then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  t0=$(now)
  kill -TERM "$pid" 2> /dev/null || true
  local deadline=$(($(date +%s) + STOP_TIMEOUT))
  while kill -0 "$pid" 2> /dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "pid $pid still alive after ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2> /dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  log "stopped pid $pid in $(elapsed "$t0")s"
}

do_start() {
  local pid t0
  if pid=$(our_pid); then
    if is_ready; then
      write_env
      log "already running (pid $pid); env: $ENV_FILE"
      echo "$ENV_FILE"
      return 0
    fi
    die "pid $pid is running but not healthy; run: $0 $FLAG stop"
  fi
  command -v java > /dev/null || die "java not found (install a JDK 17)"
  command -v curl > /dev/null || die "curl not found"
  resolve_classpath
  t0=$(now)
  # A fresh start: new ports, empty data dir, new auth material.
  rm -rf "$DATA_DIR" "$LOG_DIR" "$INST_DIR/tmp" "$ENV_FILE"
  mkdir -p "$DATA_DIR" "$LOG_DIR" "$INST_DIR/tmp"
  pick_ports
  if [ "$INSTANCE" = auth ]; then gen_auth; fi
  write_conf
  log "starting Pulsar $(pulsar_version) (web $(kv "$PORTS_FILE" WEB_PORT), broker $(kv "$PORTS_FILE" BROKER_PORT), bookie $(kv "$PORTS_FILE" BOOKIE_PORT))"
  launch
  wait_ready "$t0"
  if [ "$INSTANCE" = auth ]; then grant_permissions; fi
  write_env
  echo "$ENV_FILE"
}

do_restart() {
  local t0
  if [ ! -f "$PORTS_FILE" ] || [ ! -d "$DATA_DIR" ]; then
    die "nothing to restart: run '$0 $FLAG start' first"
  fi
  resolve_classpath
  do_stop
  t0=$(now)
  # Same ports, same data dir, same secret and tokens.
  write_conf
  log "restarting on the same data dir and ports"
  launch
  wait_ready "$t0"
  write_env
  echo "$ENV_FILE"
}

do_status() {
  local pid
  if pid=$(our_pid); then
    if is_ready; then
      echo "$INSTANCE: up (pid $pid, ws://127.0.0.1:$(kv "$PORTS_FILE" WEB_PORT), env $ENV_FILE)"
      return 0
    fi
    echo "$INSTANCE: running but not ready (pid $pid, log $LOG_FILE)"
    return 1
  fi
  echo "$INSTANCE: down"
  return 3
}

case "$CMD" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_restart ;;
  status) do_status ;;
  classpath)
    resolve_classpath
    echo "$CP_FILE"
    ;;
esac
