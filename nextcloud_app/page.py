"""The council's page as HTML (no script, no external resources: it works through the proxy).

Every text is in the user's language (:mod:`sync.i18n`); every value from the store is
escaped. Forms post to relative URLs, so the page works through Nextcloud's proxy
(``/index.php/apps/app_api/proxy/APP/api/...``) and on the app's own port alike, and carry
the CSRF token of the signed user.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from nextcloud_app.council import View
from sync.display import local_time
from sync.health import STATES
from sync.i18n import _, is_german
from sync.store import Conflict

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:70rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #eee;vertical-align:top}th{background:#f4f4f4}
.ok{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e}.note{background:#eef6ff;
padding:.5rem 1rem;border-left:4px solid #0969da}.error{background:#fff0f0;padding:.5rem 1rem;
border-left:4px solid #cf222e}form{display:inline;margin-right:.4rem}
button{padding:.2rem .6rem;margin:.1rem 0}code{background:#f4f4f4;padding:0 .2rem}
"""


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, str):
        return value or "—"
    return json.dumps(value, ensure_ascii=False)


def _form(action: str, token: str, fields: dict[str, str], label: str, extra: str = "") -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return (
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="csrf" value="{escape(token)}">{hidden}{extra}'
        f'<button type="submit">{escape(label)}</button></form>'
    )


def _passes(view: View) -> list[str]:
    state = STATES[view.health.state]
    css = {"OK": "ok", "WARNING": "warn"}.get(state, "bad")
    daemon = (
        _("The daemon runs inside this app.")
        if view.daemon
        else _("Passes run outside this app (systemd unit or `connector sync`).")
    )
    out = [
        "<h2>" + escape(_("Last sync passes")) + "</h2>",
        f'<p class="{css}"><strong>' + escape(_("Health:")) + f" {escape(state)}</strong> — "
        f"{escape(daemon)}</p>",
    ]
    if view.health.reasons:
        out.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in view.health.reasons) + "</ul>")
    if not view.passes:
        out.append("<p>" + escape(_("No pass recorded yet.")) + "</p>")
        return out
    heads = [_("cohort"), _("target"), _("when"), _("result"), _("changes"), _("conflicts"),
             _("failed"), _("withheld")]  # fmt: skip
    out.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in heads) + "</tr>")
    for row in view.passes:
        cells = [row.cohort, row.target, local_time(row.finished_at), row.outcome,
                 row.changes, row.conflicts, row.failures, row.withheld]  # fmt: skip
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return out


def _conflict(conflict: Conflict, view: View, token: str) -> str:
    who = view.names.get(conflict.uid, conflict.uid)
    rows = [
        (_("record:"), who),
        (_("field:"), conflict.field),
        (_("agreed before:"), _value(conflict.base)),
        (_("on the board:"), _value(conflict.remote)),
        (_("in the store:"), _value(conflict.canonical)),
        (_("noticed:"), local_time(conflict.created_at)),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    ident = {"conflict": str(conflict.id)}
    if conflict.resolved_at is not None:
        chosen = _("settled: {value}; the next pass writes it to both sides").format(
            value=_value(conflict.resolution)
        )
        actions = f'<p class="note">{escape(chosen)}</p>'
    else:
        field = (
            '<input name="value" aria-label="' + escape(_("value")) + '" '
            'placeholder="' + escape(_("value")) + '" required>'
        )
        actions = (
            _form("resolve", token, {**ident, "take": "remote"}, _("take the board's"))
            + _form("resolve", token, {**ident, "take": "canonical"}, _("take the store's"))
            + _form("resolve", token, {**ident, "take": "value"}, _("enter a value"), field)
        )
    title = _("Conflict #{id} ({rule})").format(id=conflict.id, rule=conflict.rule)
    return (
        f'<section id="conflict-{conflict.id}"><h3>{escape(title)}</h3>'
        f"<table>{body}</table><p>{actions}</p></section>"
    )


def _embargo(view: View) -> list[str]:
    out = ["<h2>" + escape(_("Embargo")) + "</h2>"]
    if not view.embargo:
        return [*out, "<p>" + escape(_("No cohort in the store.")) + "</p>"]
    heads = [_("cohort"), _("reveal date"), _("state"), _("secret tandems"),
             _("withheld in the last pass")]  # fmt: skip
    out.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in heads) + "</tr>")
    for item in view.embargo:
        when = item.reveal_on.strftime("%d.%m.%Y") if item.reveal_on else _("not set")
        state = _("revealed") if item.revealed else _("held back until then")
        cells = [f"{item.title} ({item.cohort})", when, state, item.secret_tandems, item.withheld]
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return out


def render(view: View, token: str, message: str | None = None, error: str | None = None) -> str:
    """The whole page."""
    lang = "de" if is_german() else "en"
    out = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        "<title>" + escape(_("Mentoring")) + f"</title><style>{STYLE}</style></head><body>",
        "<h1>" + escape(_("Mentoring: the connector for the council")) + "</h1>",
    ]
    if message:
        out.append(f'<p class="note" role="status">{escape(message)}</p>')
    if error:
        out.append(f'<p class="error" role="alert">{escape(error)}</p>')
    out.append(_form("sync", token, {}, _("sync now")))
    out += _passes(view)
    open_ = [c for c in view.conflicts if c.applied_at is None]
    out.append("<h2>" + escape(_("Open conflicts")) + f" ({len(open_)})</h2>")
    if not open_:
        out.append("<p>" + escape(_("No open conflicts.")) + "</p>")
    out += [_conflict(c, view, token) for c in open_]
    out += _embargo(view)
    if view.doctor is not None:
        out.append("<h2>" + escape(_("Configuration check")) + "</h2><ul>")
        out += [f"<li><code>{escape(line)}</code></li>" for line in view.doctor]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def refusal(title: str, text: str) -> str:
    """A short page for 401/403/400 answers."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"</head><body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>"
    )
