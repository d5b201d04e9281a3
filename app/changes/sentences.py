"""Change-log entries told as sentences a reader of the corrections feed can follow.

"Serbia · Lethal aid: yes → no (source us-europe-response-chart-2023, by key alice)": the
names come from the catalogue (countries, categories, groups), the values from the entry's
before/after snapshots, so an entry reads the same however long ago it was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.categories.models import Category
from app.changes.models import Change
from app.changes.service import SEED_ACTOR
from app.countries.models import Country
from app.groups.models import Group
from app.vocabulary import ChangeAction

# Fields whose old → new values fit in a title; the others are only named there.
VALUE_FIELDS = frozenset({"value", "verification_status", "kind", "left", "joined", "name"})
# Bookkeeping columns: never news on their own.
QUIET_FIELDS = frozenset({"version", "id"})
VERBS = {
    ChangeAction.create: "added",
    ChangeAction.update: "edited",
    ChangeAction.retract: "retracted",
}


@dataclass(frozen=True)
class Names:
    """Display names of what snapshots refer to by code or key."""

    countries: Mapping[str, str]
    categories: Mapping[str, str]
    groups: Mapping[str, str]

    def country(self, code: Any) -> str:
        return self.countries.get(str(code), str(code))

    def category(self, key: Any) -> str:
        return self.categories.get(str(key), str(key))

    def group(self, key: Any) -> str:
        return self.groups.get(str(key), str(key))


def load_names(session: Session) -> Names:
    """The catalogue's names, in three small reads."""
    countries = session.execute(select(Country.code, Country.name)).all()
    categories = session.execute(select(Category.key, Category.label)).all()
    groups = session.execute(select(Group.key, Group.name)).all()
    return Names(
        countries=dict(countries),
        categories={str(key): label for key, label in categories},
        groups=dict(groups),
    )


def by(actor: str) -> str:
    return "by the seed loader" if actor == SEED_ACTOR else f"by key {actor}"


def shown(value: Any) -> str:
    return "(none)" if value is None else str(value)


def changed_fields(change: Change) -> list[str]:
    """The snapshot fields an update or retraction changed, in column order."""
    before, after = change.before or {}, change.after or {}
    return [
        name
        for name in after
        if name not in QUIET_FIELDS and (change.before is None or before.get(name) != after[name])
    ]


def _edits(change: Change, skip: frozenset[str] = frozenset()) -> str:
    """What an update changed, e.g. `verification status unverified → verified, note`."""
    before, after = change.before or {}, change.after or {}
    parts = []
    for name in changed_fields(change):
        if name in skip:
            continue
        label = name.replace("_", " ")
        if name in VALUE_FIELDS:
            label += f" {shown(before.get(name))} → {shown(after.get(name))}"
        parts.append(label)
    return ", ".join(parts) or "nothing visible"


def _assessment(change: Change, names: Names) -> str:
    now, then = change.after or change.before or {}, change.before or {}
    head = f"{names.country(now.get('country_code'))} · {names.category(now.get('category_key'))}"
    tail = f"source {now.get('source_id')}, {by(change.actor)}"
    value = shown(now.get("value"))
    if change.action is ChangeAction.create:
        return f"{head}: {value} (new, {tail})"
    if change.action is ChangeAction.retract:
        return f"{head}: {value} retracted ({tail})"
    if then.get("value") != now.get("value"):
        return f"{head}: {shown(then.get('value'))} → {value} ({tail})"
    return f"{head}: {value}, {_edits(change, frozenset({'value'}))} edited ({tail})"


def _membership(change: Change, names: Names) -> str:
    now = change.after or change.before or {}
    head = f"{names.country(now.get('country_code'))} · {names.group(now.get('group_key'))}"
    tail = f"source {now.get('source_id')}, {by(change.actor)}"
    if change.action is ChangeAction.create:
        until = "" if now.get("left") is None else f" until {now['left']}"
        return f"{head}: member from {now.get('joined')}{until} (new, {tail})"
    return f"{head} membership {VERBS[change.action]}: {_edits(change)} ({tail})"


def _claim(change: Change, names: Names) -> str:
    now = change.after or change.before or {}
    countries = ", ".join(names.country(code) for code in now.get("countries") or ())
    column = now.get("category_key")
    about = names.category(column) if column else "no column"
    rank = ", deprecated" if now.get("rank") == "deprecated" else ""
    what = f"{countries} · claim {change.entity_id} by {now.get('source_id')} ({about}{rank})"
    return _named(change, what)


def _denial(change: Change, names: Names) -> str:
    now = change.after or change.before or {}
    head = f"{names.country(now.get('country_code'))} · {names.category(now.get('category_key'))}"
    return _named(change, f"{head}: denial by {now.get('speaker')} ({now.get('stated_on')})")


def _named(change: Change, what: str) -> str:
    """Sources, countries, categories, groups: "<what> added/edited/retracted"."""
    verb = VERBS[change.action]
    if change.action is ChangeAction.update:
        return f"{what} edited: {_edits(change)} ({by(change.actor)})"
    return f"{what} {verb} ({by(change.actor)})"


def title(change: Change, names: Names) -> str:
    """One line saying what changed, in the catalogue's words."""
    now = change.after or change.before or {}
    if change.entity == "assessment":
        return _assessment(change, names)
    if change.entity == "group_membership":
        return _membership(change, names)
    if change.entity == "source":
        return _named(change, f"Source {change.entity_id} ({now.get('title')})")
    if change.entity == "country":
        return _named(change, f"{now.get('name', change.entity_id)} ({change.entity_id})")
    if change.entity == "category":
        return _named(change, f"Category {now.get('label', change.entity_id)}")
    if change.entity == "group":
        return _named(change, f"Group {now.get('name', change.entity_id)}")
    if change.entity == "claim":
        return _claim(change, names)
    if change.entity == "denial":
        return _denial(change, names)
    return _named(change, f"{change.entity} {change.entity_id}")


def details(change: Change) -> str:
    """The entry's text: a header line, then one line per field (old → new on updates)."""
    lines = [
        f"Change {change.id}: {change.action.value} of {change.entity} {change.entity_id}, "
        f"{by(change.actor)}."
    ]
    before, after = change.before or {}, change.after or {}
    for name in changed_fields(change):
        if change.before is None:
            lines.append(f"{name}: {shown(after[name])}")
        else:
            lines.append(f"{name}: {shown(before.get(name))} → {shown(after[name])}")
    return "\n".join(lines)


def resource_path(change: Change) -> str:
    """Where the changed thing's JSON lives."""
    now = change.after or change.before or {}
    match change.entity:
        case "assessment":
            return f"/assessments/{change.entity_id}"
        case "source":
            return f"/sources/{change.entity_id}"
        case "country":
            return f"/countries/{change.entity_id}"
        case "category":
            return f"/categories/{change.entity_id}"
        case "group":
            return f"/groups/{change.entity_id}"
        case "group_membership":
            return f"/groups/{now.get('group_key')}"
        case "claim":
            return f"/claims?source={now.get('source_id')}"
        case "denial":
            return f"/denials?country={now.get('country_code')}"
    return entry_path(change)


def entry_path(change: Change) -> str:
    """The change-log entry itself, as JSON with its before and after."""
    return f"/changes?since={change.id - 1}&limit=1"
