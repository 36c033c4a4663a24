"""Template format specs are checked when the mapping loads, and what passes renders bounded."""

from __future__ import annotations

from datetime import date

import pytest

from mappings.templates import MAX_WIDTH, check_template, render_template
from sync.model import Application, Person


class _Lookup:
    def __init__(self, *entities: object) -> None:
        self.by_uid = {e.uid: e for e in entities}  # type: ignore[attr-defined]

    def get(self, uid: str) -> object | None:
        return self.by_uid.get(uid)

    def all(self, kind: str) -> list[object]:
        return [e for e in self.by_uid.values() if e.kind == kind]  # type: ignore[attr-defined]


PERSON = Person(uid="p1", given_name="Anna", family_name="Süß", email="a@x.example")
APP = Application(
    uid="a1", cohort="c1", applicant="p1", staff_count=7, received_on=date(2026, 1, 2)
)


@pytest.mark.parametrize(
    "template",
    [
        "{applicant.name:>20}|{applicant.name:.3}|{applicant.name:s}",
        "{staff_count:03d} {staff_count:>5}",
        "{received_on:%-d.%-m.%Y} {received_on:%d.%m.%Y} {received_on:%A, %d. %B}",
        "{status:>10}",
        "{motivation:.200}",
    ],
)
def test_good_formats_pass_and_render(template: str) -> None:
    assert check_template("application", template) == []
    render_template(template, APP, _Lookup(PERSON, APP), tandems=True)  # type: ignore[arg-type]


def test_rendering_applies_the_checked_formats() -> None:
    lookup = _Lookup(PERSON, APP)
    text = "{applicant.name:>12}|{staff_count:03d}|{received_on:%-d.%-m.%Y}|{status:>9}"
    rendered = render_template(text, APP, lookup, tandems=True)  # type: ignore[arg-type]
    assert rendered == "Anna Süß|007|2.1.2026| received"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{applicant.name:d}", "format 'd' does not apply to text"),
        ("{applicant.name:>2000000000}", f"width 2000000000 is too large (at most {MAX_WIDTH})"),
        ("{staff_count:.99999999f}", "precision 99999999 is too large"),
        ("{staff_count:x>" + "9" * 5000 + "}", "is too large"),
        ("{received_on:%Q}", "unknown date directive %Q"),
        ("{received_on:%2000000000Y}", "width"),
        ("{applicant.opt_outs:>10}", "a format applies only to text, numbers and dates"),
        ("{applicant.consent_lists:d}", "a format applies only to text, numbers and dates"),
        ("{applicant.name:%d.%m.%Y}", "format '%d.%m.%Y' does not apply to text"),
    ],
)
def test_bad_formats_are_load_errors(template: str, fragment: str) -> None:
    problems = check_template("application", template)
    assert len(problems) == 1 and fragment in problems[0], problems
    assert problems[0].startswith(template.split(":")[0] + ":"), problems
