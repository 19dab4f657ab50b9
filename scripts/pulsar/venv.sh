#!/usr/bin/env bash
# Creates target/pulsar/venv with scripts/pulsar/requirements.txt installed (once; redone when the
# requirements change) and prints the venv's python path on stdout. Progress goes to stderr.
#
#   PULSAR_PYTHON="$(scripts/pulsar/venv.sh)"
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/target/pulsar/venv"
REQ="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PY="${PYTHON:-python3}"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
mkdir -p "$ROOT/target/pulsar"
exec 9> "$ROOT/target/pulsar/.venv.lock"
flock 9
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2> /dev/null)" = "$want" ]; then
  echo "$VENV/bin/python"
  exit 0
fi
t0=$(date +%s)
echo "[venv.sh] creating $VENV ..." >&2
rm -rf "$VENV"
"$PY" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQ" >&2
"$VENV/bin/python" -c 'import pulsar, websockets' >&2
echo "$want" > "$STAMP"
echo "[venv.sh] ready in $(($(date +%s) - t0))s" >&2
echo "$VENV/bin/python"
