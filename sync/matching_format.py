"""Matching support as text for the terminal."""

from __future__ import annotations

from sync.i18n import _
from sync.matching import Candidates, CohortCheck


def candidate_lines(found: Candidates) -> list[str]:
    """The mentee's goals, then one line per candidate with its flags."""
    goals = found.goals
    position, goals_label, topics_label = _("position:"), _("goals:"), _("topics:")
    lines = [
        _("Candidates for {name} ({organisation}) in {cohort}").format(
            name=found.mentee_name, organisation=found.organisation, cohort=found.cohort
        ),
        f"  {position:<10} {goals.position or '-'}"
        + (f", {goals.department}" if goals.department else "")
        + (f" ({goals.leadership_role})" if goals.leadership_role else ""),
        f"  {goals_label:<10} {goals.goals or '-'}",
        f"  {topics_label:<10} {', '.join(goals.topics) or '-'}",
    ]
    lines += [f"  ! {flag}" for flag in found.mentee_flags]
    lines.append("")
    if not found.candidates:
        lines.append(_("No mentor of this cohort can be paired with this mentee."))
        return lines
    mentor, organisation, function = _("mentor"), _("organisation"), _("function")
    rows = [
        (c.name, c.organisation, c.position or "-", c.regional_group or "")
        for c in found.candidates
    ]
    widths = [
        max(len(r[i]) for r in [(mentor, organisation, function, ""), *rows]) for i in range(3)
    ]
    header = f"{mentor:<{widths[0]}}  {organisation:<{widths[1]}}  {function}"
    lines += [header, "-" * (len(header) + widths[2] - len(function))]
    for candidate, row in zip(found.candidates, rows, strict=True):
        line = f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}"
        lines.append(line.rstrip())
        lines += [f"    ! {flag}" for flag in candidate.flags]
    lines.append("")
    lines.append(
        _("{n} candidates; nothing was paired (the council decides).").format(
            n=len(found.candidates)
        )
    )
    return lines


def check_lines(result: CohortCheck) -> list[str]:
    """A summary; the problems themselves go to stderr with the error."""
    lines = [
        _("{cohort}: {tandems} tandems checked, {problems} problems").format(
            cohort=result.cohort, tandems=result.tandems, problems=len(result.problems)
        )
    ]
    if result.unpaired:
        lines.append(
            _("mentees without a mentor yet: {n} ({names})").format(
                n=len(result.unpaired), names=", ".join(result.unpaired)
            )
        )
    return lines
