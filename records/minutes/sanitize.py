"""Sanitising the secretary's rich text (narratives, opening, corrections).

The minutes are an archival record rendered to PDF, so the allowed HTML is a small set of text
structure: paragraphs, line breaks, emphasis, lists, block quotes and simple tables. No attributes at
all, so no ``style``, no ``src``/``href``, no event handlers; no ``img``, ``a``, ``link``, ``object``
or ``svg``. With nothing that can point elsewhere, the text can neither run a script nor make the PDF
renderer fetch a resource (the renderer's URL fetcher refuses everything outside ``static/`` anyway).
``nh3`` (Rust's ammonia) does the parsing; we never parse HTML by hand.
"""

from __future__ import annotations

import re
from html import escape

import nh3

__all__ = ["ALLOWED_TAGS", "MAX_LENGTH", "clean_html", "plain_text"]

ALLOWED_TAGS = frozenset({"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "blockquote",
                          "table", "thead", "tbody", "tr", "th", "td", "h4"})
MAX_LENGTH = 100_000
_LOOKS_LIKE_HTML = re.compile(r"<[A-Za-z!/]")


def clean_html(value: str) -> str:
    """``value`` reduced to the allowed tags without attributes; plain text becomes paragraphs."""
    value = (value or "").strip()
    if not value:
        return ""
    if not _LOOKS_LIKE_HTML.search(value):
        paragraphs = [p.strip() for p in value.replace("\r\n", "\n").split("\n\n") if p.strip()]
        value = "".join("<p>" + escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)
    return nh3.clean(value, tags=set(ALLOWED_TAGS), attributes={}, url_schemes=set(), strip_comments=True,
                     link_rel=None).strip()


def plain_text(html: str) -> list[str]:
    """The paragraphs of sanitised ``html`` as plain text (for the Akoma Ntoso record)."""
    from html import unescape

    text = re.sub(r"<br\s*/?>", "\n", html or "")
    blocks = re.split(r"</(?:p|li|h4|blockquote|tr)>", text)
    lines = []
    for block in blocks:
        stripped = unescape(re.sub(r"<[^>]+>", " ", block))
        stripped = re.sub(r"[ \t]+", " ", stripped).strip()
        if stripped:
            lines.append(stripped)
    return lines
