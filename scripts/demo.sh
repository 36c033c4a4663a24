#!/usr/bin/env bash
# The main job on the bundled examples: a fresh work folder demo/, both example cohorts
# imported in order, and what the store now holds.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
connector() { .venv/bin/connector "$@"; }

# -- a fresh work folder (git-ignored) --------------------------------------------------
rm -rf demo
connector init demo
export CONNECTOR_CONFIG=demo/connector.toml

# -- import the examples: each file refers only to what came before ---------------------
kinds="organisations programmes people cohorts applications tandems events tasks"
for example in muensterland-10 nachwuchsfoerderkreis; do
  for kind in $kinds; do
    file=examples/$example/$kind.csv
    if [ -f "$file" ]; then
      connector import "$kind" "$file"
    fi
  done
done

# -- what the store holds --------------------------------------------------------------
echo
connector status
