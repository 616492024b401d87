"""System checks of the voting app's settings: the legal citation overrides (issue 20, docs/legal.md)."""

from django.conf import settings
from django.core.checks import Error, register

from . import legal

MAX_CITATION_CHARS = 500


@register()
def check_legal_citations(app_configs, **kwargs):
    """``ECABINET_LEGAL_CITATIONS`` maps known version ids to non-empty texts of at most 500 characters:
    a typo in an id would silently leave the table's citation in every result, so it stops the start."""
    overrides = getattr(settings, "ECABINET_LEGAL_CITATIONS", None) or {}
    known = {v.id for v in legal.VERSIONS} | {p.id for p in legal.BALLOT_POLICIES}
    if not isinstance(overrides, dict):
        return [Error("ECABINET_LEGAL_CITATIONS must be a JSON object (version id → citation text).",
                      hint="docs/legal.md lists the version ids.", id="voting.E001")]
    errors = []
    for key, text in overrides.items():
        if key not in known:
            errors.append(Error(f"ECABINET_LEGAL_CITATIONS names an unknown version {key!r}.",
                                hint="Known: " + ", ".join(sorted(known)) + " (docs/legal.md).", id="voting.E001"))
        elif not isinstance(text, str) or not text.strip() or len(text) > MAX_CITATION_CHARS:
            errors.append(Error(f"ECABINET_LEGAL_CITATIONS[{key!r}] must be a non-empty text of at most "
                                f"{MAX_CITATION_CHARS} characters.", id="voting.E001"))
    return errors
