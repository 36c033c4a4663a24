#!/usr/bin/env bash
# Creates .venv with this project installed (editable, with the test extras) if it is
# missing or stale. Idempotent: when nothing changed it returns at once. Fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=.venv
stamp=$venv/.cohort-connector-setup

fail() { echo "setup: $*" >&2; exit 1; }

command -v "$python" >/dev/null || fail "$python not found; install Python 3.11 (apt-get install python3 python3-venv)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || fail "$python is $("$python" --version 2>&1); cohort-connector needs Python 3.11 or newer"

# The editable install puts the project folder on sys.path (setuptools' "compat" mode): the
# default mode installs an import hook that every Python start-up loads first, some 20 ms of
# each `connector` command.
mode=compat
# Stale when pyproject.toml, the interpreter or the install mode changed, or the venv points
# at another tree.
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $("$python" --version 2>&1) $(pwd) $mode"
if [ -x "$venv/bin/connector" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
  && [ "$("$venv/bin/python" -I -c 'import cli; print(cli.__file__)' 2>/dev/null)" = "$(pwd)/cli.py" ]; then
  exit 0
fi

echo "setup: installing cohort-connector into $venv ..."
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" || fail "cannot create $venv (on Debian: apt-get install python3-venv)"
fi
log=$venv/setup.log
if ! "$venv/bin/python" -m pip install --disable-pip-version-check \
    --config-settings editable_mode="$mode" -e '.[test]' >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  fail "pip could not install the project into $venv (full log: $log)"
fi
"$venv/bin/python" -I -c 'import cli, sync.store' || fail "the installed project does not import"
# Mailman 3 lives in its own virtual environment (it pins sqlalchemy<2.1); the Mailman
# tests and the demo start a real Mailman core from it.
"$venv/bin/python" -m connector.testing.mailman_server --install-only \
  || fail "cannot build Mailman's own environment (.cache/mailman-venv)"
echo "$want" > "$stamp"
echo "setup: ready ($("$venv/bin/python" --version))"
