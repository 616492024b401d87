"""The tablet app's manifest, service worker and offline page (issue 17, docs/offline.md).

* ``/manifest.webmanifest``: name, icons, colours (the tablet's "add to home screen").
* ``/sw.js``: the service worker, scope ``/``. It stores the app shell (this module's ``shell_files``:
  CSS, the fonts the CSS uses, scripts, images, the reader and its vendor files when present) and the offline page
  at install, and nothing else on its own: a session's pages and copies are stored by the page's
  "Keep this session on the tablet" (``static/js/offline.js``). The script names a version computed
  from the shell's bytes, so a changed file is a changed worker, which the browser installs (and the
  old shell is deleted).
* ``/offline/``: what a navigation shows when there is no network and no kept copy of the page.

None of these answers names a person; they are served to anyone (the browser fetches the manifest
without cookies). Like every answer Django gives, they carry ``Cache-Control: no-store``
(``ecabinet.hardening``): stricter than the ``no-cache`` a service worker needs to be re-checked at
every navigation.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.translation import gettext as _

# Folders of static/ that make the shell, and the kinds of file taken from them.
SHELL_DIRS = ("css", "js", "room", "reader", "img", "vendor")
SHELL_SUFFIXES = frozenset({".css", ".js", ".mjs", ".svg", ".png", ".ico", ".woff", ".woff2", ".ttf", ".otf",
                            ".bcmap", ".pfb", ".wasm"})
THEME_COLOUR = "#9e1b1e"  # --brand in static/css/app.css
BACKGROUND_COLOUR = "#f3f4f7"  # --bg


def _static_root() -> Path:
    return Path(settings.STATICFILES_DIRS[0])


@lru_cache(maxsize=1)
def shell_files() -> tuple[tuple[str, ...], str]:
    """The static files of the app shell (relative paths) and a version: the SHA-256 of their
    names and bytes and of the worker's own source. Computed once per process (static files change
    only with a deployment, which restarts it)."""
    root = _static_root()
    files = []
    for folder in SHELL_DIRS:
        base = root / folder
        if base.is_dir():
            files += [p for p in sorted(base.rglob("*")) if p.is_file() and p.suffix.lower() in SHELL_SUFFIXES]
    css = root / "css" / "app.css"
    if css.is_file():  # the fonts the style sheet uses (not the PDF fonts beside them)
        for name in sorted(set(re.findall(r'url\("\.\./fonts/([^"]+)"\)', css.read_text(encoding="utf-8")))):
            if (root / "fonts" / name).is_file():
                files.append(root / "fonts" / name)
    digest = hashlib.sha256()
    relative = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        relative.append(rel)
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    template = Path(settings.BASE_DIR) / "templates" / "ecabinet" / "sw.js"
    digest.update(template.read_bytes())
    return tuple(relative), digest.hexdigest()[:16]


def service_worker(request: HttpRequest) -> HttpResponse:
    relative, version = shell_files()
    shell = [static(rel) for rel in relative]
    body = render_to_string("ecabinet/sw.js", {
        "version": version, "shell_json": json.dumps(shell), "offline_url": "/offline/",
    })
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": "e-Cabinet",
        "short_name": _("Cabinet sessions"),
        "description": _("Electronic Government"),
        "lang": getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static("img/emblem.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json; charset=utf-8"
    return response


def offline_page(request: HttpRequest) -> HttpResponse:
    """Names nobody: the service worker stores it once, whoever is signed in."""
    return render(request, "offline.html")


class LogoutView(auth_views.LogoutView):
    """Django's logout, and the browser told to delete what this site stored on the tablet: the kept
    sessions (Cache Storage), the outboxes and every other local storage, the service worker
    (``Clear-Site-Data: "cache", "storage"``; docs/offline.md). The page also deletes the kept sessions
    itself before it sends the logout (``static/js/offline.js``), for browsers that ignore the header."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response
