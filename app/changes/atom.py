"""The change log as an Atom 1.0 feed (RFC 4287), built with ElementTree.

ElementTree escapes markup in text and attributes; what it does not do is refuse the
characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates), which a JSON
body may contain: those become U+FFFD here, so the feed always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app import __version__
from app.changes import sentences
from app.changes.models import Change

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"
# Entry ids name the change, not the host serving it: a mirror's feed has the same ids.
ENTRY_ID = "urn:country-positions:change:{id}"
FEED_ID = "urn:country-positions:changes"
# `updated` of a feed without entries: fixed, so an empty feed reads the same every time.
EMPTY_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedInfo:
    """What the feed says of itself; hrefs are paths, passed through the link maker."""

    id: str
    title: str
    self_path: str


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _text(text)
    return element


def stamp(moment: datetime) -> str:
    """An RFC 3339 date-time in UTC, as Atom wants it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _entry(
    feed: ET.Element, change: Change, names: sentences.Names, link: Callable[[str], str]
) -> None:
    entry = _add(feed, "entry")
    _add(entry, "id", ENTRY_ID.format(id=change.id))
    _add(entry, "title", sentences.title(change, names), type="text")
    _add(entry, "published", stamp(change.at))
    _add(entry, "updated", stamp(change.at))
    _add(_add(entry, "author"), "name", change.actor)
    _add(
        entry,
        "link",
        rel="alternate",
        type="application/json",
        href=link(sentences.resource_path(change)),
    )
    _add(
        entry,
        "link",
        rel="related",
        type="application/json",
        href=link(sentences.entry_path(change)),
    )
    _add(entry, "category", term=change.entity, scheme="urn:country-positions:entity")
    _add(entry, "category", term=change.action.value, scheme="urn:country-positions:action")
    _add(entry, "content", sentences.details(change), type="text")


def render_feed(
    changes: Sequence[Change],
    *,
    info: FeedInfo,
    names: sentences.Names,
    link: Callable[[str], str],
) -> bytes:
    """The feed document (UTF-8, with an XML declaration); `changes` newest first."""
    # Unqualified names under a declared default namespace: ElementTree's own
    # `default_namespace` refuses unqualified attribute names, which Atom's all are.
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _add(feed, "id", info.id)
    _add(feed, "title", info.title, type="text")
    _add(
        feed,
        "subtitle",
        "Every change to the data (corrections, new assessments, retractions), newest first.",
        type="text",
    )
    _add(feed, "updated", stamp(changes[0].at if changes else EMPTY_UPDATED))
    _add(feed, "link", rel="self", type=ATOM_MEDIA_TYPE, href=link(info.self_path))
    _add(feed, "link", rel="alternate", type="text/html", href=link("/"))
    _add(feed, "generator", "country-positions", version=__version__)
    for change in changes:
        _entry(feed, change, names, link)
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document
