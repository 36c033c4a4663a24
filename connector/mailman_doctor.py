"""``connector doctor`` for Mailman: the REST API answers with these credentials, each list's
mail domain exists (a list on a domain the mail server does not route never delivers), and
each list exists or will be created. Reads only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from connector.base import Collection, Finding, finding_from
from connector.errors import ConnectorError
from connector.i18n import _
from connector.mailman_api import quote

if TYPE_CHECKING:
    from connector.mailman import MailmanTarget


def diagnose(target: MailmanTarget, collections: Sequence[Collection]) -> list[Finding]:
    """Findings for the Mailman core behind ``target`` and each list in ``collections``."""
    from connector.mailman import list_address  # at run time: mailman imports this module

    where = f"Mailman {target.http.base_url}"
    try:
        versions = target.api.get_json("/system/versions") or {}
    except ConnectorError as exc:
        return [finding_from(where, exc)]
    version = versions.get("mailman_version", "Mailman")
    accepted = _("reachable; REST user {user} accepted ({version})")
    findings = [Finding(where, accepted.format(user=target.http.user, version=version))]
    domains: dict[str, bool] = {}
    for collection in collections:
        subject = _("list {address}").format(address=collection.name)
        try:
            fqdn, host = list_address(collection)[:2]
            if host not in domains:
                domains[host] = target.api.get_json(f"/domains/{quote(host)}") is not None
                if not domains[host]:
                    findings.append(_missing_domain(host))
            found = target.api.get_list(fqdn)
        except ConnectorError as exc:
            findings.append(finding_from(subject, exc))
            continue
        if found is None:
            findings.append(Finding(subject, _("does not exist yet; the first sync creates it")))
        elif (members := found.get("member_count")) is not None:
            findings.append(Finding(subject, _("exists ({n} members)").format(n=members)))
        else:
            findings.append(Finding(subject, _("exists")))
    return findings


def _missing_domain(host: str) -> Finding:
    fix = _(
        "create the domain {domain} (Postorius: Domains, or POST /3.1/domains) and let the "
        "mail server deliver its mail to Mailman"
    )
    subject = _("domain {domain}").format(domain=host)
    return Finding(subject, _("does not exist on Mailman"), 3, fix.format(domain=host))
