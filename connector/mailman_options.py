"""What a mapping may say about a Mailman 3 list (``[rules.list]``), and its declaration."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from connector.platform import Holds, Options, Platform, matching

ListAddress = Annotated[
    str,
    matching(
        r"^[a-z0-9][a-z0-9._-]*@[a-z0-9.-]+$",
        "a lower-case list address (e.g. mentees-10@mentoring.example.org)",
    ),
]


class ListCollection(Options):
    """A Mailman 3 mailing list."""

    address: ListAddress
    display_name: str
    description: str = ""
    subject_prefix: str = ""
    policies: dict[str, str | bool | int] = Field(default_factory=dict)


PLATFORM = Platform(
    kind="mailman",
    target="connector.mailman:MailmanTarget",
    table="list",
    options=ListCollection,
    name_field="address",
    attribute="mailing_list",
    noun="list",
    settings={"verify": "verify_tls"},
    holds=Holds(
        entity="person",
        what="a mailing list holds people",
        key="email",
        why="list members carry no marker",
    ),
    public_names=True,
)
