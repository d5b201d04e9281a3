"""country-positions: assessed positions of European governments, with provenance."""

__version__ = "1.1.0"
