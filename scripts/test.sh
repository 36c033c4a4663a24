#!/usr/bin/env bash
# Sets up the virtualenv (if needed), runs the tests, then the linters and the type checker.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
.venv/bin/pytest -q "$@"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
