"""HTML → PDF (WeasyPrint) for every document the project prints: the minutes, the resolution and
corrections (``records.minutes.render``), the summary of a written ballot (``voting.pdf``) and the
demo's draft documents (``demo.seed``).

In the manner of maykin's ``pdf.py``: fonts come from ``static/`` on disk and every other URL —
the network, ``data:``, files elsewhere — is refused and stops the rendering, so a template can
neither leak a request nor depend on the machine it runs on. The fonts are the bundled DejaVu
files, embedded (subset) in the PDF, so Vietnamese diacritics print and extract correctly whatever
fonts the host has.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import weasyprint
from django.conf import settings
from weasyprint.urls import URLFetcher, URLFetcherResponse

__all__ = ["STATIC_DIR", "StaticFilesOnly", "layout", "vn_date"]

STATIC_DIR = Path(settings.BASE_DIR) / "static"


class StaticFilesOnly(URLFetcher):
    """Serve ``file:`` URLs under ``root`` from disk; refuse everything else."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        super().__init__(fail_on_errors=True)
        self.root = root.resolve()

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(f"refused to fetch {url!r}: only files under {self.root} may be used")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ValueError(f"refused to fetch {url!r}: only files under {self.root} may be used")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type})


def layout(html: str, *, fetcher: URLFetcher | None = None) -> weasyprint.Document:
    """``html`` laid out as pages, ready for ``write_pdf()``.

    Relative URLs (``fonts/DejaVuSerif.ttf``) resolve against ``static/``; everything is fetched
    through ``fetcher``, by default a new ``StaticFilesOnly``."""
    fetcher = fetcher if fetcher is not None else StaticFilesOnly()
    return weasyprint.HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=fetcher).render()


def vn_date(day: dt.date, place: str = "Hà Nội") -> str:
    """``Hà Nội, ngày 05 tháng 02 năm 2026``: days below 10 and months below 3 take a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"
