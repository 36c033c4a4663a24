#!/usr/bin/env bash
# The two-way story on the bundled example: a fresh work folder demo/, both example cohorts
# imported in order, local servers started (`connector servers start`: a Nextcloud Deck double,
# a real Radicale, a real Mailman 3 core, on free ports), and then:
#   1. cohort 10 is synced onto them;
#   2. a council member moves an application card to "Ausgewählt" on the board;
#   3. the next pass makes the applicant a mentee: the mentees' list and the invitations follow;
#   4. the same field changed on both sides: a conflict is parked;
#   5. it is resolved;
#   6. a last pass finds nothing to do.
# KEEP_SERVERS=1 leaves the servers running afterwards (for the README's tour).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
connector() { .venv/bin/connector "$@"; }
council() { .venv/bin/python -m connector.testing.council "$@"; }
step() { echo; echo "== $*"; }
say() { echo "   → $*"; }

# -- a fresh work folder (git-ignored); servers of an earlier run are stopped first ---------
if [ -f demo/servers/state.json ]; then connector servers stop --dir demo/servers; fi
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

# -- local servers: free ports, passwords made up for this run, exported for the mapping ----
step "connector servers start"
eval "$(connector servers start)"
if [ "${KEEP_SERVERS:-0}" != 1 ]; then
  trap 'connector servers stop' EXIT
fi

board="Mentoring 10 – Beirat"
mentee="Emre Vogelsang (Emsdetten)"
mentee_mail=emre.vogelsang@emsdetten.example
declined="Till Gövert (Greven)"
members() { connector show liste-mentees | head -1 | sed 's/.*(\([0-9]*\) .*/\1/'; }
invited() {  # in how many events of the participants' calendar $1 is an attendee
  connector show fahrplan --json | .venv/bin/python -c \
    'import json,sys; print(sum(sys.argv[1] in r["fields"]["attendees"] for r in json.load(sys.stdin)))' "$1"
}

step "1. connector sync: the example cohort goes onto the board, the calendars and the lists"
connector plan --limit 1
connector sync --stats
cards=$(connector show bewerbungen | grep -c '^    - ')
say "The council's board »$board« now holds $cards application cards, the"
say "participants' calendar $(connector show fahrplan | head -1 | sed 's/.*(\([0-9]*\) .*/\1/') events, the mentees' list $(members) members."
say "$mentee is not a mentee yet: invited to $(invited $mentee_mail) events."

step "2. A council member selects $mentee on the board"
council move demo/servers "$board" "$mentee" "Ausgewählt"
say "Nothing in the connector's store knows about it yet."

step "3. connector sync: the selection comes back, and what follows from it goes out"
connector sync
connector show liste-mentees | grep -F "$mentee_mail" | sed 's/^ */   → on the list: /'
say "The mentees' list now has $(members) members; $mentee is invited to $(invited $mentee_mail) events"
say "of the participants' calendar. The store says: $(connector record $mentee_mail --json \
  | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); print("roles in mim-10:", ", ".join(sorted(d["fields"]["memberships"].get("mim-10", []))))')."

step "4. The same field changed on both sides: a conflict is parked"
council move demo/servers "$board" "$declined" "Abgelehnt"
connector import applications examples/tour/vorstellung.csv
say "The council declined $declined on the board, while the office's file says he was presented."
code=0
connector sync || code=$?
[ "$code" = 7 ] || { echo "demo: expected exit 7 (a conflict waits), got $code" >&2; exit 1; }
say "\`connector sync\` exits 7: a conflict waits for a person (cron and systemd see it)."
say "The status field's policy is \`ask\`: the pass parks a conflict, and both sides stay as"
say "they are until a person decides. \`connector conflicts\` lists what waits:"
connector conflicts

step "5. The coordinator resolves it: the council's decision stands"
connector conflicts show 1
connector conflicts resolve 1 --take remote
connector sync
say "The application is declined in the store and stays »Abgelehnt« on the board."

step "6. A last pass: nothing changed anywhere, so nothing to do"
connector sync --stats

echo
connector status
if [ "${KEEP_SERVERS:-0}" = 1 ]; then
  echo
  echo "The servers still run. For the README's tour, in this shell:"
  echo "  export CONNECTOR_CONFIG=demo/connector.toml"
  echo '  eval "$(.venv/bin/connector servers start)"   # the running ones: prints their export lines'
  echo "Stop them with: .venv/bin/connector servers stop"
else
  echo
  echo "To follow the README's tour: KEEP_SERVERS=1 bash scripts/demo.sh, or start the servers"
  echo 'yourself with: eval "$(.venv/bin/connector servers start)"'
fi
