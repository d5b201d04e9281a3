from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.schemas import NO_NUL, AppInput, AppModel, Page
from app.vocabulary import ChangeAction

# `2026.1`, `25.1.2`: dot-separated numbers without leading zeros, compared as numbers.
VERSION_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.(0|[1-9][0-9]{0,8})){1,3}$"
# A new version: the same, each number at most 9999 (issue 20: `999999999.999999999` was
# valid, and blocked every later release; `20261.1` for `2026.1` blocked every 2026.x).
# Versions given before stay readable under VERSION_PATTERN.
NEW_VERSION_PATTERN = r"^(0|[1-9][0-9]{0,3})(\.(0|[1-9][0-9]{0,3})){1,3}$"
Version = Annotated[str, StringConstraints(pattern=NEW_VERSION_PATTERN, max_length=19)]


class ReleaseCreate(AppInput):
    """What `POST /releases` needs: the version to give the current revision."""

    version: Version = Field(
        description="Two to four dot-separated numbers, each at most 9999, without leading "
        "zeros; higher than every earlier release's not withdrawn (compared as numbers), "
        "never reused.",
        examples=["2026.1"],
    )
    notes: (
        Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=NO_NUL)] | None
    ) = Field(default=None, description="What changed, for readers of the release.")


class ReleaseWithdraw(AppInput):
    """What `POST /releases/{version}/withdrawal` needs: why the release is withdrawn."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=NO_NUL)] = (
        Field(
            description="Why it is withdrawn, for readers who cited it.",
            examples=["Typo: meant 2026.2."],
        )
    )


class ReleaseWithdrawal(AppModel):
    """When and why a release was withdrawn."""

    at: datetime = Field(description="When it was withdrawn (UTC).")
    reason: str = Field(description="Why, as the admin put it.")


class ReleaseChange(AppModel):
    """One change-log entry a release adds to the previous one (`GET /changes` has it whole)."""

    id: int = Field(description="The entry's id in the change log.", examples=[14])
    at: datetime = Field(description="When the change was committed (UTC).")
    actor: str = Field(description="The API key's name, or `seed` for the seed loader.")
    action: ChangeAction = Field(description="What happened.")
    entity: str = Field(description="What kind of entity changed (`assessment`, `source`, ...).")
    entity_id: str = Field(description="The changed entity's id.", examples=["1"])


class ReleaseChanges(AppModel):
    """What the change log recorded between the previous release and this one."""

    total: int = Field(description="Change-log entries since the previous release.")
    items: list[ReleaseChange] = Field(description="The first 1000 of them, oldest first.")
    since: int = Field(description="`GET /changes?since=` this id lists them all.")


class Citation(AppModel):
    """How to cite the release."""

    text: str = Field(description="A plain-text reference to the release.")
    bibtex: str = Field(description="The same as a BibTeX `@misc` entry.")


class ReleaseLinks(AppModel):
    """Where the release's data is."""

    self: str = Field(description="This release.")
    data: str = Field(
        description="Prefix of the frozen reads: append any read's path, "
        "e.g. `/countries/RS/positions`."
    )
    datapackage: str = Field(description="The Frictionless Data Package descriptor.")
    data_zip: str = Field(description="The package and its CSV files, zipped.")


class ReleaseRead(AppModel):
    """A release: one dataset revision, frozen under a version. Everything under
    `/releases/{version}/` answers the same bytes forever."""

    version: str = Field(description="The release's version.", examples=["2026.1"])
    created_at: datetime = Field(description="When the release was made (UTC).")
    revision: int = Field(description="The dataset revision it froze.")
    sha256: str = Field(
        description="SHA-256 of the frozen content in canonical form (app.releases.frozen); "
        "the ETags under the release derive from it."
    )
    notes: str | None = Field(description="What changed, as its maker put it.")
    counts: dict[str, int] = Field(description="Rows per table in the release.")
    changes: ReleaseChanges = Field(
        description="The change-log entries since the previous release."
    )
    withdrawn: ReleaseWithdrawal | None = Field(
        description="Set if an admin withdrew the release as a mistake: it stays readable, "
        "but is no longer `latest`, and a lower version may follow it. Cite another."
    )
    citation: Citation = Field(description="How to cite this release.")
    links: ReleaseLinks = Field(description="Where its data is.")


class ReleasePage(Page[ReleaseRead]):
    """A page of releases, newest first."""
