"""Web hardening (issue 15 point 5; docs/security.md "Web hardening"): the headers of every answer,
``no-store`` on everything but the static files, the Content-Security-Policy with its nonce, framing
of our own files only, and the production settings (``check --deploy``, ``DATABASE_URL=sqlite://``)
in fresh processes.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from meetings.models import Meeting

ROOT = Path(__file__).resolve().parents[1]
MISSING = "987654"


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _url(route: str) -> str:
    """A concrete address for a route: every parameter a missing id or a plain word."""
    route = route.replace("^", "").replace("$", "")
    # Regex routes (the admin's, DRF's): the first of a choice, a word for "anything".
    route = re.sub(r"\(\?P<\w+>([\w|]+)\)", lambda m: m.group(1).split("|")[0], route)
    route = re.sub(r"\(\?P<\w+>\.\*\)", "x", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", MISSING, route)
    route = route.replace(".*", "x")
    route = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "x" if m.group(1) in ("str", "slug", "path") else MISSING, route)
    route = route.replace("\\.", ".").replace("\\", "")
    return "/" + route


def _confidential(response) -> bool:
    cache = response.headers.get("Cache-Control", "")
    return "no-store" in cache and response.headers.get("Pragma") == "no-cache"


def test_every_route_answers_no_store_and_the_security_headers(cast):
    """Walks every URL pattern (a new screen cannot forget it), as a signed-in member and anonymously,
    with GET and POST."""
    routes = [route for route, _entry in _patterns(get_resolver())]
    assert len(routes) > 100
    member = Client(raise_request_exception=False)
    member.force_login(cast.member)
    anonymous = Client(raise_request_exception=False)
    problems = []
    for route in routes:
        url = _url(route)
        if "(" in url or "[" in url:
            problems.append(f"cannot build an address for {route}")
            continue
        for who, client in (("member", member), ("anonymous", anonymous)):
            for method in (client.get, client.post):
                response = method(url)
                if not _confidential(response):
                    problems.append(f"{who} {method.__name__} {url}: Cache-Control {response.get('Cache-Control')!r}")
                if "camera=()" not in response.get("Permissions-Policy", ""):
                    problems.append(f"{who} {url}: no Permissions-Policy")
                if "default-src 'self'" not in response.get("Content-Security-Policy", ""):
                    problems.append(f"{who} {url}: no Content-Security-Policy")
    assert not problems, "\n".join(problems[:40])


def test_real_confidential_answers_are_not_stored(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = Client()
    client.force_login(cast.member)
    for url in ("/", f"/meetings/{cast.meeting.pk}/", f"/documents/{cast.public_doc.pk}/",
                f"/documents/{cast.public_doc.pk}/file/?inline=1", f"/documents/{cast.public_doc.pk}/file/",
                "/api/v1/meetings/", f"/api/v1/meetings/{cast.meeting.pk}/", "/ballots/", "/notifications/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _confidential(response), url
        assert response["Cache-Control"] == "no-store, private", url
    assert _confidential(Client().get("/login/"))


def test_static_files_keep_their_cache():
    response = Client().get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "") and "Pragma" not in response


def test_the_other_security_headers(cast):
    client = Client()
    client.force_login(cast.member)
    response = client.get("/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    policy = dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert policy[feature] == "()", feature
    for feature in ("publickey-credentials-get", "publickey-credentials-create", "fullscreen"):
        assert policy[feature] == "(self)", feature


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_the_content_security_policy_is_strict_and_its_nonce_is_on_every_script(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    client = Client()
    client.force_login(cast.member)
    for url in ("/", f"/meetings/{cast.meeting.pk}/", f"/meetings/{cast.meeting.pk}/room/",
                f"/documents/{cast.public_doc.pk}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        csp = _directives(response["Content-Security-Policy"])
        nonces = re.findall(r"'nonce-([^']+)'", " ".join(csp["script-src"]))
        assert len(nonces) == 1, url
        assert csp["script-src"] == ["'self'", f"'nonce-{nonces[0]}'"], url
        assert csp["default-src"] == ["'self'"] and csp["style-src"] == ["'self'"], url
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"], url
        assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"], url
        assert csp["connect-src"] == ["'self'"] and csp["frame-src"] == ["'self'"], url
        assert csp["img-src"] == ["'self'", "data:", "blob:"], url
        html = response.content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts, url
        for tag in scripts:
            assert f'nonce="{nonces[0]}"' in tag, (url, tag)
        assert not re.search(r"\sstyle=", html), url
    # A fresh nonce on every response.
    again = client.get("/")["Content-Security-Policy"]
    assert again != response["Content-Security-Policy"]


def test_only_our_own_files_may_be_framed_and_only_by_us(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = Client()
    client.force_login(cast.member)
    framed = client.get(f"/documents/{cast.public_doc.pk}/file/?inline=1")
    assert framed.status_code == 200
    assert framed["X-Frame-Options"] == "SAMEORIGIN"
    assert _directives(framed["Content-Security-Policy"])["frame-ancestors"] == ["'self'"]
    page = client.get(f"/documents/{cast.public_doc.pk}/")
    assert page["X-Frame-Options"] == "DENY"
    assert _directives(page["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]


TEMPLATES = ROOT / "templates"
PDF_TEMPLATES = ("minutes/", "demo/", "ballots/summary_pdf.html", "followup/report_pdf.html",
                 "_admin_document_style.html")  # rendered by WeasyPrint, never served


def test_no_screen_template_has_inline_style_or_a_script_without_the_nonce():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name.startswith(PDF_TEMPLATES):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\sstyle=|<style\b|\son[a-z]+=", text):
            problems.append(f"{name}: inline style or event handler")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if 'nonce="{{ request.csp_nonce }}"' not in tag:
                problems.append(f"{name}: {tag}")
    assert not problems, "\n".join(problems)


# -- The settings in a fresh process ------------------------------------------------------------------

def _python(env: dict, code: str, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in __import__("os").environ.items()
            if not k.startswith(("DATABASE_URL", "SQLITE_", "SECURE_", "CSP_", "SESSION_", "CSRF_", "ALLOWED_HOSTS",
                                 "DEBUG", "REDIS_"))}
    base.update({"DJANGO_SETTINGS_MODULE": "ecabinet.settings", "SECRET_KEY": "k" * 60}, **env)
    return subprocess.run([sys.executable, *(["-c", code] if code else []), *args], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=300, check=False)


PRODUCTION = {
    "DEBUG": "false", "ALLOWED_HOSTS": "cabinet.example.gov.vn", "CSRF_TRUSTED_ORIGINS": "https://cabinet.example.gov.vn",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO", "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true", "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true", "CSRF_COOKIE_SECURE": "true",
}


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    env = {**PRODUCTION, "VAR_DIR": str(tmp_path), "SECRET_KEY": "vX3-h8Qz_pL2mN9rT5wK7yB4cF6gJ1dS0aE" * 2}
    result = _python(env, "", "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # Without them, the warnings the issue found are there (the test can fail).
    bare = _python({"VAR_DIR": str(tmp_path), "SECRET_KEY": env["SECRET_KEY"],
                    "ALLOWED_HOSTS": "cabinet.example.gov.vn"}, "", "manage.py", "check", "--deploy")
    for code in ("W004", "W008", "W012", "W016"):
        assert code in bare.stderr + bare.stdout, code


def test_the_production_settings_reach_django():
    code = ("import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(["
            "s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
            "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_AGE,"
            "s.SESSION_IDLE_MINUTES, bool(s.CONTENT_SECURITY_POLICY), bool(s.CONTENT_SECURITY_POLICY_REPORT_ONLY)]))")
    result = _python({**PRODUCTION, "SESSION_MAX_HOURS": "10", "SESSION_IDLE_MINUTES": "15"}, code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["HTTP_X_FORWARDED_PROTO", "https"], True, 31536000, True, True, True, True,
                                         36000, 15, True, False]
    defaults = json.loads(_python({}, code).stdout)
    assert defaults == [None, False, 0, False, False, False, False, 12 * 3600, 30, True, False]
    report_only = json.loads(_python({"CSP_REPORT_ONLY": "true"}, code).stdout)
    assert report_only[-2:] == [False, True]
    # The older name still marks both cookies Secure.
    assert json.loads(_python({"SECURE_COOKIES": "true"}, code).stdout)[5:7] == [True, True]


def test_report_only_mode_sends_the_policy_as_report_only(cast, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None
    client = Client()
    client.force_login(cast.member)
    response = client.get("/")
    assert "Content-Security-Policy" not in response
    assert "'nonce-" in response["Content-Security-Policy-Report-Only"]
    cast.set_status(Meeting.Status.PUBLISHED)
    framed = client.get(f"/documents/{cast.public_doc.pk}/file/?inline=1")
    assert _directives(framed["Content-Security-Policy-Report-Only"])["frame-ancestors"] == ["'self'"]


def test_database_url_sqlite_works_like_sqlite_path(tmp_path):
    """DATABASE_URL=sqlite:///… crashed start-up (a PostgreSQL pool option) and lost WAL/IMMEDIATE."""
    path = tmp_path / "via-url.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{path}", "VAR_DIR": str(tmp_path / "var")}
    migrate = _python(env, "", "manage.py", "migrate", "--noinput", "-v0")
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert path.exists() and not (tmp_path / "var" / "ecabinet.sqlite3").exists()
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps(s.DATABASES['default'], default=str))")
    by_url = json.loads(_python(env, code).stdout)
    by_path = json.loads(_python({"SQLITE_PATH": str(path), "VAR_DIR": str(tmp_path / "var")}, code).stdout)
    assert by_url == by_path
    assert by_url["NAME"] == str(path) and "pool" not in by_url["OPTIONS"]
    assert by_url["OPTIONS"]["transaction_mode"] == "IMMEDIATE" and "journal_mode=WAL" in by_url["OPTIONS"][
        "init_command"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # A server database keeps its pool.
    postgres = json.loads(_python({"DATABASE_URL": "postgres://u:p@db.invalid:5432/ecabinet"}, code).stdout)
    assert postgres["ENGINE"].endswith("postgresql") and postgres["OPTIONS"]["pool"]["max_size"] == 12


def test_the_settings_block_keeps_django_s_defaults_where_we_rely_on_them():
    assert django_settings.SECURE_CONTENT_TYPE_NOSNIFF is True
    assert django_settings.SESSION_COOKIE_HTTPONLY is True
