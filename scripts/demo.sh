#!/usr/bin/env bash
# The main job on the bundled examples: a fresh work folder demo/, both example cohorts
# imported in order, local servers started (a Nextcloud Deck double, a real Radicale, a real
# Mailman 3 core), cohort 10 synced onto them, and what each platform now shows.
# KEEP_SERVERS=1 leaves the servers running afterwards (stop them with the line printed).
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

# -- local servers, with secrets made up for this run ---------------------------------
servers=demo/servers
# The council's Nextcloud accounts, so that tasks can be assigned to them on the board.
mapfile -t council < <(.venv/bin/python - <<'PY'
from sync.store import Store
with Store.open("demo/cohort.db") as store:
    for person in store.entities("person"):
        if getattr(person, "deck_user", None):
            print(person.deck_user)
PY
)
deck_users=()
for user in "${council[@]}"; do deck_users+=(--deck-user "$user"); done
.venv/bin/python -m connector.testing.demo_servers start "$servers" "${deck_users[@]}"
if [ "${KEEP_SERVERS:-0}" != 1 ]; then
  trap '.venv/bin/python -m connector.testing.demo_servers stop "$servers"' EXIT
fi
# shellcheck disable=SC1091
source "$servers/servers.env"

# -- the main job: plan, sync, and a second pass that finds nothing to do ----------------
echo; echo "== connector plan (what a pass would do; writes nothing)"
connector plan --limit 2
echo; echo "== connector sync --stats"
connector sync --stats
echo; echo "== connector sync --stats (again: nothing changed, so nothing to do)"
connector sync --stats

# -- what the platforms now show ---------------------------------------------------------
echo; echo "== the council's board on Deck"
connector show bewerbungen
echo; echo "== the participants' calendar on Radicale"
connector show fahrplan
echo; echo "== the mentees' list on Mailman"
connector show liste-mentees

echo
connector status
if [ "${KEEP_SERVERS:-0}" = 1 ]; then
  echo "servers still running; stop them with:"
  echo "  .venv/bin/python -m connector.testing.demo_servers stop $servers"
fi
