#!/usr/bin/env bash
# Sets up the virtualenv (if needed), runs the tests, then the linters and the type checker.
# The real-Nextcloud tests run whenever the distribution is found (see
# connector/testing/nextcloud_server.py); when they could not run, the last line says so.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
bash scripts/setup.sh
rm -f .cache/not-run.txt
.venv/bin/pytest -q "$@"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
echo "test suite wall time: $(( $(date +%s) - started )) s"
if [ -f .cache/not-run.txt ]; then cat .cache/not-run.txt; fi
