"""Every planned action is carried out, printed and serialised: the apply step's dispatch
table and the plan output cover each :class:`Action`, whose value is a plain string."""

from __future__ import annotations

import json
import logging

from sync import report
from sync.apply import _ACTIONS
from sync.logs import JsonFormatter
from sync.plan import Action, Item


def test_every_action_has_its_method_in_the_dispatch_table() -> None:
    assert set(_ACTIONS) == set(Action)


def test_every_action_has_a_symbol_and_a_verb_in_the_plan_output() -> None:
    assert set(report._SYMBOL) == set(Action) == set(report._VERB)


def test_an_action_serialises_and_prints_as_its_plain_value() -> None:
    item = Item(Action.OPT_OUT, "person-a", "17")
    data = report.item_data(item)
    assert json.dumps(data["action"]) == '"opt_out"'
    assert f"{item.action}" == str(item.action) == "opt_out"
    assert json.dumps({Action.CREATE: 1}, sort_keys=True) == '{"create": 1}'
    record = logging.LogRecord("connector.events.sync.engine", logging.INFO, "", 0, "", (), None)
    record.event, record.fields = "item", {"action": Action.DELETE}
    assert json.loads(JsonFormatter().format(record))["action"] == "delete"


def test_only_an_update_may_change_nothing() -> None:
    assert {a for a in Action if a.merges} == {Action.UPDATE, Action.ADOPT}
    assert not Item(Action.UPDATE, "person-a", "17").writes
    assert not Item(Action.UPDATE, "person-a", "17").counted
    # An adoption that changes no field still links the record: it counts.
    assert Item(Action.ADOPT, "person-a", "17").writes
    assert all(Item(a, "person-a", "17").counted for a in Action if a is not Action.UPDATE)
