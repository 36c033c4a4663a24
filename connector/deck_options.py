"""What a mapping may say about a Deck board (``[rules.deck]``), and the Deck declaration."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import Field, StrictBool, StringConstraints, model_validator

from connector.base import RemoteRecord
from connector.i18n import N_, _
from connector.platform import Options, Platform


class AclShare(Options):
    """A Deck board share: a Nextcloud user or group with its permissions."""

    user: str | None = None
    group: str | None = None
    edit: StrictBool = True
    share: StrictBool = False
    manage: StrictBool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> AclShare:
        if (self.user is None) == (self.group is None):
            raise ValueError(_("give exactly one of `user` or `group`"))
        return self


class DeckCollection(Options):
    """A Deck board with its stacks, labels and shares."""

    board: str = Field(max_length=100)
    stacks: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        min_length=1
    )
    labels: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list
    )
    organisation_labels: StrictBool = Field(
        default=False, description="one label per member organisation (its short name)"
    )
    acl: list[AclShare] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> DeckCollection:
        for what, items in (("stack", self.stacks), ("label", self.labels)):
            seen: set[str] = set()
            for index, item in enumerate(items):
                if item in seen:
                    message = (
                        _("duplicate stack {name}")
                        if what == "stack"
                        else _("duplicate label {name}")
                    ).format(name=repr(item))
                    raise ValueError(f"{what}s[{index}]: {message}")
                seen.add(item)
        return self

    def offered(self) -> Mapping[str, Sequence[str]]:
        """Cards take their stack and labels from the board's."""
        return {"stack": self.stacks, "labels": self.labels}

    def with_organisations(self, options: dict[str, Any], short_names: list[str]) -> None:
        """With ``organisation_labels``, one label per member organisation."""
        if self.organisation_labels:
            options["labels"] = [*options.get("labels", []), *short_names]

    def editing_groups(self) -> set[str]:
        """The groups the board is shared with for editing."""
        return {share.group for share in self.acl if share.group and share.edit}

    def describe(self, records: Sequence[RemoteRecord], when: Callable[[Any], str]) -> list[str]:
        """The board's stacks in order, each with its cards."""
        lines = [f"Board »{self.board}«"]
        stacks = list(self.stacks)
        stacks += sorted({str(r.fields.get("stack")) for r in records} - set(stacks))
        for stack in stacks:
            cards = sorted(
                (r for r in records if r.fields.get("stack") == stack),
                key=lambda r: str(r.fields.get("title")),
            )
            lines.append(f"  {stack} ({len(cards)})")
            lines += [_card(card, when) for card in cards]
        return lines


def _card(record: RemoteRecord, when: Callable[[Any], str]) -> str:
    fields = record.fields
    extras = [", ".join(fields.get("labels") or [])]
    if fields.get("assignees"):
        extras.append("@" + ", @".join(fields["assignees"]))
    if fields.get("due"):
        extras.append(f"fällig {when(fields['due'])}")
    if fields.get("archived"):
        extras.append("archiviert")
    shown = "; ".join(e for e in extras if e)
    return f"    - {fields.get('title', '')}" + (f"  [{shown}]" if shown else "")


PLATFORM = Platform(
    kind="deck",
    target="connector.deck:DeckTarget",
    table="deck",
    options=DeckCollection,
    name_field="board",
    noun=N_("board"),
    records="cards",
    erase_overwrite={"title": "Gelöscht", "description": ""},
    settings={"verify": "verify_tls"},
)
