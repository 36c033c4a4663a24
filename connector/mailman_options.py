"""What a mapping may say about a Mailman 3 list (``[rules.list]``), and its declaration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import Field

from connector.base import RemoteRecord
from connector.i18n import N_
from connector.platform import Holds, Options, Platform, matching

ListAddress = Annotated[
    str,
    matching(
        r"^[a-z0-9][a-z0-9._-]*@[a-z0-9.-]+$",
        N_("a lower-case list address (e.g. mentees-10@mentoring.example.org)"),
    ),
]


class ListCollection(Options):
    """A Mailman 3 mailing list."""

    address: ListAddress
    display_name: str
    description: str = ""
    subject_prefix: str = ""
    policies: dict[str, str | bool | int] = Field(default_factory=dict)

    def describe(self, records: Sequence[RemoteRecord], when: Callable[[Any], str]) -> list[str]:
        """One line per member, by address, with a delivery status other than enabled."""
        lines = [f"Liste {self.address} ({len(records)} Mitglieder)"]
        for r in sorted(records, key=lambda r: str(r.fields.get("email"))):
            f = r.fields
            status = f.get("delivery_status")
            shown = "" if status in (None, "enabled") else f"  ({status})"
            lines.append(f"    {f.get('display_name', '')} <{f.get('email', '')}>{shown}")
        return lines


PLATFORM = Platform(
    kind="mailman",
    target="connector.mailman:MailmanTarget",
    table="list",
    options=ListCollection,
    name_field="address",
    attribute="mailing_list",
    noun=N_("list"),
    records="memberships",
    settings={"verify": "verify_tls"},
    holds=Holds(
        entity="person",
        what=N_("a mailing list holds people"),
        key="email",
        why=N_("list members carry no marker"),
    ),
    public_names=True,
)
