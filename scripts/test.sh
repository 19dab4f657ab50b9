#!/usr/bin/env bash
# The project's full test command.
#
#   scripts/test.sh           fast tier, then the real-broker tier against two Pulsar brokers
#   scripts/test.sh --fast    fast tier only (unit, doc, example and MockPulsar tests; no broker)
#   scripts/test.sh --fuzz    long mode: every cargo-fuzz target in fuzz/ for 5 minutes each
#                             (FUZZ_SECONDS overrides, FUZZ_TARGETS="a b" picks targets; needs
#                             nightly and cargo-fuzz, installed if missing). Seeds are in
#                             fuzz/seeds/<target>; crashes land in fuzz/artifacts/<target>: fix
#                             them and commit each input to fuzz/regressions/<target>, which
#                             tests/fuzz_regressions.rs replays.
#
# Fast tier:   cargo test --all-features on the lib, bins, examples, doc tests and every tests/*.rs
#              except tests/pulsar_*.rs.
# Broker tier: starts the `default` and `auth` brokers (scripts/pulsar.sh, in parallel) and the
#              Python venv (scripts/pulsar/venv.sh), then runs
#              cargo test --all-features --test 'pulsar_*' -- --test-threads=2
#              with PULSAR_ENV_FILE, PULSAR_AUTH_ENV_FILE, PULSAR_PYTHON and PULSAR_SCRIPT set.
#              Both brokers are stopped on exit, whatever happened (PULSAR_KEEP_BROKERS=1 keeps them).
# Exits non-zero if anything failed. See docs/testing.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FAST_ONLY=0
FUZZ=0
for arg in "$@"; do
  case "$arg" in
    --fast) FAST_ONLY=1 ;;
    --fuzz) FUZZ=1 ;;
    -h | --help)
      sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

T_ALL=$(date +%s.%N)
SUMMARY=()
FAILED=()

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
banner() { printf '\n==== %s ====\n' "$*"; }
# phase NAME COMMAND...: runs a command, records its time and outcome; never exits.
phase() {
  local name="$1" t0 rc
  shift
  banner "$name"
  t0=$(now)
  set +e
  "$@"
  rc=$?
  set -e
  SUMMARY+=("$(printf '%-34s %7ss  %s' "$name" "$(since "$t0")" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
  [ "$rc" -eq 0 ] || FAILED+=("$name")
  return "$rc"
}

print_summary() {
  banner "summary"
  local line
  for line in "${SUMMARY[@]}"; do echo "$line"; done
  printf '%-34s %7ss\n' "total" "$(since "$T_ALL")"
}

# ------------------------------------------------------------------------------------------------
# Long mode: fuzzing
# ------------------------------------------------------------------------------------------------
fuzz_setup() {
  if ! rustup run nightly rustc --version > /dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal < /dev/null || return 1
  fi
  if ! cargo fuzz --version > /dev/null 2>&1; then
    cargo install cargo-fuzz --locked < /dev/null || return 1
  fi
  cargo +nightly fuzz build --fuzz-dir fuzz
}

# fuzz_target NAME: runs one target for FUZZ_SECONDS on a scratch corpus grown from the seeds
# and past crashes; fails on a crash, a leak, a timeout (10 s for one input) or 2 GiB of RSS.
fuzz_target() {
  local target="$1" dirs=()
  mkdir -p "fuzz/corpus/$target"
  dirs+=("fuzz/corpus/$target")
  [ -d "fuzz/seeds/$target" ] && dirs+=("fuzz/seeds/$target")
  [ -d "fuzz/regressions/$target" ] && dirs+=("fuzz/regressions/$target")
  cargo +nightly fuzz run --fuzz-dir fuzz "$target" "${dirs[@]}" -- \
    -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    2>&1 | grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)|^ +[0-9]+: |^ +at ' | tail -n 60
  return "${PIPESTATUS[0]}"
}

if [ "$FUZZ" = 1 ]; then
  FUZZ_SECONDS="${FUZZ_SECONDS:-300}"
  if phase "fuzz: setup (nightly, cargo-fuzz, build)" fuzz_setup; then
    targets="${FUZZ_TARGETS:-$(sed -n 's/^name = "\([a-z0-9_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^pulsar')}"
    for target in $targets; do
      phase "fuzz: $target (${FUZZ_SECONDS}s)" fuzz_target "$target" || true
    done
  fi
  print_summary
  if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "FAILED: ${FAILED[*]} (inputs in fuzz/artifacts/)"
    exit 1
  fi
  exit 0
fi

# ------------------------------------------------------------------------------------------------
# Fast tier
# ------------------------------------------------------------------------------------------------
fast_targets=()
[ -f src/lib.rs ] && fast_targets+=(--lib)
fast_targets+=(--bins --examples)
shopt -s nullglob
broker_tests=()
for f in tests/*.rs; do
  name="$(basename "$f" .rs)"
  case "$name" in
    pulsar_*) broker_tests+=("$name") ;;
    *) fast_targets+=(--test "$name") ;;
  esac
done
shopt -u nullglob

phase "fast: lib/bins/examples/tests" cargo test --all-features --no-fail-fast "${fast_targets[@]}" || true
if [ -f src/lib.rs ]; then
  phase "fast: doc tests" cargo test --all-features --no-fail-fast --doc || true
fi

if [ "$FAST_ONLY" = 1 ]; then
  print_summary
  if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "FAILED: ${FAILED[*]}"
    exit 1
  fi
  exit 0
fi

# ------------------------------------------------------------------------------------------------
# Real-broker tier
# ------------------------------------------------------------------------------------------------
if [ "${#broker_tests[@]}" -eq 0 ]; then
  banner "broker tier"
  echo "no tests/pulsar_*.rs yet: skipping the real-broker tier (no broker started)"
  SUMMARY+=("$(printf '%-34s %7s   %s' "broker tier" "-" "skipped (no tests/pulsar_*.rs)")")
  print_summary
  if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "FAILED: ${FAILED[*]}"
    exit 1
  fi
  exit 0
fi

BROKER_LOGS="$ROOT/target/pulsar/test-logs"
mkdir -p "$BROKER_LOGS"

stop_brokers() {
  if [ "${PULSAR_KEEP_BROKERS:-0}" = 1 ]; then
    echo "PULSAR_KEEP_BROKERS=1: leaving the brokers running (stop: scripts/pulsar.sh [--auth] stop)"
    return 0
  fi
  banner "stopping brokers"
  local t0
  t0=$(now)
  local p1 p2
  scripts/pulsar.sh stop &
  p1=$!
  scripts/pulsar.sh --auth stop &
  p2=$!
  wait "$p1" || true
  wait "$p2" || true
  echo "brokers stopped in $(since "$t0")s"
}
on_exit() {
  local rc=$?
  stop_brokers
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_brokers() {
  # Resolve the classpath once (Maven), then start both instances and build the Python venv in
  # parallel.
  scripts/pulsar.sh classpath > /dev/null || return 1
  local t0 p1 p2 p3 rc=0
  t0=$(now)
  scripts/pulsar.sh start > "$BROKER_LOGS/start-default.log" 2>&1 &
  p1=$!
  scripts/pulsar.sh --auth start > "$BROKER_LOGS/start-auth.log" 2>&1 &
  p2=$!
  scripts/pulsar/venv.sh > "$BROKER_LOGS/venv.out" 2> "$BROKER_LOGS/venv.log" &
  p3=$!
  wait "$p1" || rc=1
  wait "$p2" || rc=1
  cat "$BROKER_LOGS/start-default.log" "$BROKER_LOGS/start-auth.log"
  echo "both brokers up in $(since "$t0")s"
  if wait "$p3"; then
    PULSAR_PYTHON="$(cat "$BROKER_LOGS/venv.out")"
    export PULSAR_PYTHON
    echo "PULSAR_PYTHON=$PULSAR_PYTHON"
  else
    cat "$BROKER_LOGS/venv.log"
    echo "creating the Python venv failed"
    rc=1
  fi
  return "$rc"
}

broker_test_args=()
for name in "${broker_tests[@]}"; do broker_test_args+=(--test "$name"); done

# Build the broker test binaries while nothing else runs, so that compile time is not counted
# against the brokers' startup and the tests' timeouts.
phase "build: broker tests" cargo test --all-features --no-run "${broker_test_args[@]}" || true
phase "start: brokers + python venv" start_brokers || true

# (start removes a stale broker.env first, so these files exist only if this run's start succeeded)
if [ -f target/pulsar/default/broker.env ] && [ -f target/pulsar/auth/broker.env ] && [ -n "${PULSAR_PYTHON:-}" ]; then
  export PULSAR_ENV_FILE="$ROOT/target/pulsar/default/broker.env"
  export PULSAR_AUTH_ENV_FILE="$ROOT/target/pulsar/auth/broker.env"
  export PULSAR_SCRIPT="$ROOT/scripts/pulsar.sh"
  export PULSAR_PY_CLIENT="$ROOT/scripts/pulsar/py_client.py"
  if ! phase "broker: ${broker_tests[*]}" cargo test --all-features --no-fail-fast "${broker_test_args[@]}" -- --test-threads=2; then
    for inst in default auth; do
      echo "---- last lines of target/pulsar/$inst/logs/pulsar.log ----"
      tail -n 30 "target/pulsar/$inst/logs/pulsar.log" 2> /dev/null | cut -c1-300 || true
    done
  fi
else
  echo "broker setup failed: not running the broker tests"
fi

print_summary
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "FAILED: ${FAILED[*]}"
  exit 1
fi
