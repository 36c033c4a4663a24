"""A council member at work on a Deck board, for the demo and the tour's test.

It speaks Deck's REST API as a person's client (the web UI, the app) does, logged in as one
of the council's accounts of the local Deck double, independent of the connector's adapter::

    python -m connector.testing.council move SERVERS_DIR "BOARD" "CARD TITLE" "STACK"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import requests

from connector.testing.demo_servers import Servers

API = "/index.php/apps/deck/api/v1.0"


class CouncilMember:
    """One council account on the local Deck double."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url, self.user = url.rstrip("/") + API, user
        self.session = requests.Session()
        self.session.auth = (user, password)
        self.session.headers.update({"OCS-APIRequest": "true", "Accept": "application/json"})

    @classmethod
    def of(cls, servers_dir: Path) -> CouncilMember:
        """The first council account of the servers recorded in ``servers_dir``."""
        state = Servers.load(servers_dir.resolve())
        if state is None or "deck" not in state.servers or not state.council:
            raise SystemExit(f"no local Deck double recorded in {servers_dir}")
        user, password = sorted(state.council.items())[0]
        return cls(state.servers["deck"]["url"], user, password)

    def _get(self, path: str) -> Any:
        response = self.session.get(self.url + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def move(self, board_title: str, card_title: str, stack_title: str) -> str:
        """Move the card called ``card_title`` to ``stack_title``; the stack it came from."""
        boards = [b for b in self._get("/boards") if b["title"] == board_title]
        if not boards:
            raise SystemExit(f"{self.user} sees no board {board_title!r}")
        board = boards[0]["id"]
        stacks = self._get(f"/boards/{board}/stacks")
        target = next((s for s in stacks if s["title"] == stack_title), None)
        if target is None:
            raise SystemExit(f"board {board_title!r} has no stack {stack_title!r}")
        for stack in stacks:
            for card in stack.get("cards") or []:
                if card["title"] == card_title:
                    path = f"/boards/{board}/stacks/{stack['id']}/cards/{card['id']}/reorder"
                    answer = self.session.put(
                        self.url + path, json={"order": 0, "stackId": target["id"]}, timeout=10
                    )
                    answer.raise_for_status()
                    return str(stack["title"])
        raise SystemExit(f"board {board_title!r} has no card {card_title!r}")


def main(argv: list[str] | None = None) -> int:
    """Command line: move SERVERS_DIR BOARD CARD STACK."""
    parser = argparse.ArgumentParser(prog="python -m connector.testing.council")
    parser.add_argument("action", choices=["move"])
    parser.add_argument("servers_dir", type=Path)
    parser.add_argument("board")
    parser.add_argument("card")
    parser.add_argument("stack")
    args = parser.parse_args(argv)
    member = CouncilMember.of(args.servers_dir)
    before = member.move(args.board, args.card, args.stack)
    print(
        f"{member.user} (council) moved »{args.card}« from »{before}« to »{args.stack}« "
        f"on the board »{args.board}«"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
