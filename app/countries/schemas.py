from __future__ import annotations

from pydantic import Field

from app.schemas import AppModel, Page


class CountryRead(AppModel):
    """A government in the catalogue, with its ISO 3166-1 identifiers."""

    code: str = Field(description="Canonical ISO 3166-1 alpha-2 code, upper case.", examples=["RS"])
    alpha3: str = Field(description="ISO 3166-1 alpha-3 code.", examples=["SRB"])
    numeric: str | None = Field(
        description="ISO 3166-1 numeric code; null for user-assigned codes such as XK.",
        examples=["688"],
    )
    name: str = Field(description="Common English short name.", examples=["Serbia"])
    official_name: str | None = Field(
        description="Official name where ISO 3166 records one.", examples=["Republic of Serbia"]
    )


class CountryPage(Page[CountryRead]):
    """A page of countries, ordered by name."""
