"""WCAG 2.2 AA on every screen, checked by axe-core in Chromium (issue 17; docs/accessibility.md).

Every screen of the URL confs (``ecabinet/urls.py``, ``meetings/urls.py``, ``voting/urls.py``,
``records/urls.py``; the administration excluded) is opened by every persona who may see it (``SCREENS``
below: one row per screen), on both tablet viewports (1024×768 landscape, 820×1180 portrait), and axe-core
(``tests/browser/vendor/axe.min.js``, copied by ``make vendor``) checks it against the WCAG 2.0/2.1/2.2
A and AA rules: zero violations, or the test prints each violation's rule, help and elements.

Beyond the static screens:

- the multi-factor screens (authenticator set-up, recovery codes, the second sign-in step) through their
  own flow with an account no other browser test uses (member19);
- the live room once its socket is connected, then during an open vote (the chair opens a motion, the
  member sees the ballot), and after the vote is closed;
- a keyboard-only member: Tab reaches the vote button, whose name says the choice and the motion, and
  Enter casts the vote; the room's polite live region tells of the vote opening.

axe-core is injected with ``page.evaluate`` (a DevTools evaluation, which the page's strict CSP does
not govern), so each page runs with exactly the policy it has in production: no ``bypass_csp``.

To add a screen (the PDF reader, say), add one ``Screen`` row.

Over 400 lines: one module holds the whole accessibility check (the screen table, the checker, the
browser contexts per persona and the room, keyboard and language scenarios), so that the table and the
scenarios share one set of logged-in tablets and one place says what "accessible" means here.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.cast import DEMO_PASSWORD
from tests.browser.test_room_two_tablets import LANDSCAPE, PORTRAIT, TIMEOUT_MS, _norm, _published_title

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
VIEWPORTS = {"landscape": LANDSCAPE, "portrait": PORTRAIT}
SHOTS = Path("/tmp/browser-shots")

# The personas of the demo (demo/cast.py) by what they are in the seeded sessions. The member is one
# no other browser test signs in with, so its tablet's state (votes, receipts) is this module's own.
ANONYMOUS = "anonymous"
CHAIR, MEMBER, SECRETARY, ARCHIVIST, OBSERVER = "pm", "member03", "secretary", "archivist", "guest"
EVERYONE = (CHAIR, MEMBER, SECRETARY, ARCHIVIST, OBSERVER)
SESSION_PEOPLE = (CHAIR, MEMBER, SECRETARY, OBSERVER)  # invited to the published session
RUNS_IT = (CHAIR, SECRETARY)
ROOM_ONLINE = "#room-connection[data-state=online] >> nth=0"


READER_READY = "#reader .reader-page--rendered .textLayer span >> nth=0"


@dataclass(frozen=True)
class Screen:
    """One screen: its name, its path (``{published}``, ``{draft}``, ``{closed}``: the seeded sessions'
    ids; ``{document}``: a document of the published session; ``{revised}``: one with two versions;
    ``{ballot_open}``, ``{ballot_closed}``, ``{ballot_draft}``: written ballots; ``{task}``: a follow-up
    task of the closed session), who sees it, the
    status it answers with and what to wait for before checking it."""

    name: str
    path: str
    personas: tuple[str, ...]
    status: int = 200
    ready: str = "main#main"


SCREENS: tuple[Screen, ...] = (
    Screen("login", "/login/", (ANONYMOUS,)),
    Screen("home", "/", EVERYONE),
    Screen("notifications", "/notifications/", EVERYONE),
    Screen("devices", "/account/devices/", EVERYONE),
    Screen("password", "/account/password/", EVERYONE),
    Screen("security", "/account/security/", EVERYONE),
    Screen("session-new", "/meetings/new/", (SECRETARY,)),
    Screen("session-published", "/meetings/{published}/", SESSION_PEOPLE),
    Screen("session-draft", "/meetings/{draft}/", (CHAIR, SECRETARY)),
    Screen("session-closed", "/meetings/{closed}/", EVERYONE),
    Screen("prepare", "/meetings/{published}/prepare/", (SECRETARY,)),
    Screen("prepare-draft", "/meetings/{draft}/prepare/", (SECRETARY,)),
    Screen("participants", "/meetings/{published}/participants/", RUNS_IT),
    Screen("receipts", "/meetings/{published}/receipts/", (SECRETARY,)),
    Screen("positions", "/meetings/{published}/positions/", RUNS_IT),
    Screen("positions-closed", "/meetings/{closed}/positions/", (*RUNS_IT, ARCHIVIST)),
    Screen("minutes", "/meetings/{closed}/minutes/", EVERYONE),
    # the reader (issue 17): checked once page 1 is drawn with its text layer and the annotation tools
    Screen("document", "/documents/{document}/", (CHAIR, MEMBER, SECRETARY), ready=READER_READY),
    Screen("document-revised", "/documents/{revised}/", (MEMBER,), ready=READER_READY),
    Screen("document-compare", "/documents/{revised}/compare/", (CHAIR, MEMBER, SECRETARY)),
    Screen("room", "/meetings/{published}/room/", SESSION_PEOPLE, ready=ROOM_ONLINE),
    Screen("room-closed", "/meetings/{closed}/room/", EVERYONE, ready=ROOM_ONLINE),
    Screen("offline", "/offline/", (ANONYMOUS, MEMBER)),
    Screen("ballots", "/ballots/", EVERYONE),
    Screen("ballot-new", "/ballots/new/", (SECRETARY,)),
    Screen("ballot-open", "/ballots/{ballot_open}/", (CHAIR, MEMBER, SECRETARY)),
    Screen("ballot-closed", "/ballots/{ballot_closed}/", (CHAIR, MEMBER, SECRETARY, ARCHIVIST)),
    Screen("ballot-summary", "/ballots/{ballot_closed}/summary/", (CHAIR, MEMBER, SECRETARY, ARCHIVIST)),
    Screen("ballot-summary-open", "/ballots/{ballot_open}/summary/", (SECRETARY,)),
    Screen("ballot-edit", "/ballots/{ballot_draft}/edit/", (SECRETARY,)),
    # issue 18: the decision follow-up register (a task of the closed session, made by ``ids``)
    Screen("tasks", "/tasks/", EVERYONE),
    Screen("tasks-filtered", "/tasks/?meeting={closed}&overdue=on", (SECRETARY,)),
    Screen("task", "/tasks/{task}/", (CHAIR, MEMBER, SECRETARY, ARCHIVIST)),
    Screen("task-new", "/tasks/new/", (SECRETARY,)),
    Screen("task-new-form", "/tasks/new/?source_kind=resolution&source_id={closed}", (SECRETARY,)),
    Screen("tasks-dashboard", "/tasks/dashboard/", (CHAIR, SECRETARY)),
    Screen("not-found", "/meetings/999999999/", (MEMBER,), status=404),
)


def _cases():
    for screen in SCREENS:
        for persona in screen.personas:
            for viewport in VIEWPORTS:
                yield pytest.param(screen, persona, viewport, id=f"{screen.name}-{persona}-{viewport}")


# --- the checker ------------------------------------------------------------------------------------------


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.x A/AA violations on the page as it is now."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("""async (tags) => {
      const results = await window.axe.run(document, { runOnly: { type: "tag", values: tags },
                                                        resultTypes: ["violations"] });
      return results.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })) }));
    }""", TAGS)


def report(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        lines += [f"    {node['target']}\n      {node['summary']}".replace("\n", "\n      ")
                  for node in violation["nodes"][:8]]
    return "\n".join(lines)


def dangling_references(page) -> list[str]:
    """Names and descriptions on the screen that point at nothing (axe lets a field whose every
    aria-describedby id is missing pass; a screen reader then reads no help and no error)."""
    return page.evaluate("""() => {
      const attrs = ["aria-describedby", "aria-labelledby", "aria-controls"];
      const shown = [...document.querySelectorAll(attrs.map((attr) => `[${attr}]`).join(","))]
        .filter((node) => !node.closest("[hidden]"));
      return shown.flatMap((node) =>
        attrs.flatMap((attr) => (node.getAttribute(attr) || "").split(/\\s+/)
          .filter((id) => id && !document.getElementById(id))
          .map((id) => `${node.tagName.toLowerCase()}#${node.id} ${attr}=${id}`)));
    }""")


def assert_accessible(page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core on {where} ({page.url}):\n{report(violations)}"
    dangling = dangling_references(page)
    assert not dangling, f"references to missing elements on {where} ({page.url}): {dangling}"


# --- browser contexts, one per persona and viewport ----------------------------------------------------


def _log_in(context, server_url: str, username: str):
    page = context.new_page()
    page.goto(f"{server_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) [type=submit]")
    assert "/login/" not in page.url, f"{username} could not log in"
    return page


class Sessions:
    """A logged-in browser context per (persona, viewport), made on first use and kept for the module."""

    def __init__(self, browser, server_url: str):
        self.browser, self.server_url = browser, server_url
        self.pages: dict[tuple[str, str], object] = {}
        self.errors: list[str] = []

    def page(self, persona: str, viewport: str):
        key = (persona, viewport)
        if key not in self.pages:
            context = self.browser.new_context(viewport=VIEWPORTS[viewport], locale="vi-VN", has_touch=True)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page() if persona == ANONYMOUS else _log_in(context, self.server_url, persona)
            page.on("pageerror", lambda error, who=key: self.errors.append(f"{who}: {error}"))
            self.pages[key] = page
        return self.pages[key]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture(scope="module")
def sessions(browser, server_url):
    sessions = Sessions(browser, server_url)
    try:
        yield sessions
    finally:
        sessions.close()
    assert not sessions.errors, f"JavaScript errors: {sessions.errors}"


@pytest.fixture(scope="module")
def ids(sessions, server_url) -> dict[str, int]:
    """The seeded objects the screens' paths name, found through the API as the secretariat sees them
    (and a draft ballot made through the screen, so the ballot editor has one)."""
    page = sessions.page(SECRETARY, "landscape")
    request = page.context.request
    meetings = request.get(f"{server_url}/api/v1/meetings/").json()["results"]
    by_status = {m["status"]: m["id"] for m in meetings}
    published = next(m["id"] for m in meetings if m["title"] == _published_title())
    agenda = request.get(f"{server_url}/api/v1/meetings/{published}/").json()["agenda"]
    documents = [d for item in agenda for d in item["documents"]]
    ballots = request.get(f"{server_url}/api/v1/ballots/").json()["results"]
    drafts = [b["id"] for b in ballots if b["status"] == "draft"]
    if not drafts:
        page.goto(f"{server_url}/ballots/new/")
        page.fill("input[name=title]", f"Lấy ý kiến thành viên Chính phủ {uuid.uuid4().hex[:6]}")
        deadline = dt.datetime.now() + dt.timedelta(days=10)
        page.fill("input[name=deadline]", deadline.strftime("%Y-%m-%dT10:00"))
        with page.expect_navigation():
            page.click("main form [type=submit]")
        drafts = [int(re.search(r"/ballots/(\d+)/", page.url).group(1))]
    closed = by_status["closed"]
    tasks = request.get(f"{server_url}/api/v1/tasks/?meeting={closed}").json()["results"]
    if not tasks:  # a task of the closed session's resolution, led by the Ministry of Justice
        created = _api(page, "/api/v1/tasks/", {
            "source_kind": "resolution", "source_id": closed, "title": "Hoàn thiện hồ sơ dự thảo Nghị định",
            "lead_ministry": "btp", "co_ministries": ["btc"], "priority": "high",
            "deadline": (dt.date.today() + dt.timedelta(days=30)).isoformat()})
        assert created["status"] == 201, created
        tasks = [created["body"]]
    return {
        "published": published, "draft": by_status["draft"], "closed": by_status["closed"],
        "document": documents[0]["id"], "revised": next(d["id"] for d in documents if d["version"] > 1),
        "ballot_open": next(b["id"] for b in ballots if b["status"] == "open"),
        "ballot_closed": next(b["id"] for b in ballots if b["status"] == "closed"),
        "ballot_draft": drafts[0], "task": tasks[0]["id"],
    }


def _open(sessions, server_url: str, screen: Screen, persona: str, viewport: str, ids: dict):
    page = sessions.page(persona, viewport)
    response = page.goto(f"{server_url}{screen.path.format(**ids)}")
    assert response.status == screen.status, f"{persona} gets {response.status} on {screen.name}"
    page.locator(screen.ready).first.wait_for()
    page.wait_for_load_state("load")
    return page


# --- every screen × persona × viewport -------------------------------------------------------------------


@pytest.mark.parametrize(("screen", "persona", "viewport"), list(_cases()))
def test_every_screen_has_no_wcag_violation(sessions, server_url, ids, screen, persona, viewport):
    page = _open(sessions, server_url, screen, persona, viewport, ids)
    assert page.evaluate("() => document.documentElement.lang") == "vi"
    assert_accessible(page, f"{screen.name} as {persona} ({viewport})")


# --- the live room during a vote, and a keyboard-only member ----------------------------------------------


def _api(page, path: str, body: dict) -> dict:
    """A write through the API with this page's session (CSRF token from the cookie)."""
    return page.evaluate("""async ([path, body]) => {
      const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
      const response = await fetch(path, { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-CSRFToken": decodeURIComponent(csrf),
                   "Idempotency-Key": crypto.randomUUID() } });
      return { status: response.status, body: await response.json() };
    }""", [path, body])


def _room(page, server_url: str, meeting: int) -> None:
    page.goto(f"{server_url}/meetings/{meeting}/room/")
    page.locator("#room-connection[data-state=online]").wait_for()
    page.locator("#room-agenda li.is-selected").wait_for()


def _tab_to(page, selector: str, limit: int = 250) -> int:
    """Press Tab until the focused element matches ``selector``; how many presses it took."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement && document.activeElement.matches(selector)", selector):
            return presses
    raise AssertionError(f"{selector} was not reached with {limit} presses of Tab")


@pytest.fixture(scope="module")
def vote_session(sessions, server_url) -> int:
    """A session of this module's own, in progress, with the chair and the member (present): the vote
    scenario leaves the seeded sessions as the other browser tests expect them."""
    secretary, chair = sessions.page(SECRETARY, "landscape"), sessions.page(CHAIR, "landscape")
    secretary.goto(f"{server_url}/")
    chair.goto(f"{server_url}/")
    starts = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    created = _api(secretary, "/api/v1/meetings/", {"title": f"Phiên họp Chính phủ chuyên đề {uuid.uuid4().hex[:6]}",
                                                    "kind": "thematic", "starts_at": starts})
    assert created["status"] == 201, created
    meeting = created["body"]["id"]
    for username, role in ((CHAIR, "chair"), (MEMBER, "member")):
        answer = _api(secretary, f"/api/v1/meetings/{meeting}/participants/", {"username": username, "role": role})
        assert answer["status"] == 201, answer
    answer = _api(secretary, f"/api/v1/meetings/{meeting}/agenda-items/",
                  {"title": "Đề án chuyển đổi số trong hoạt động của Chính phủ", "planned_minutes": 30})
    assert answer["status"] == 201, answer
    for page, step in ((secretary, "publish"), (chair, "start")):
        answer = _api(page, f"/api/v1/meetings/{meeting}/{step}/", {})
        assert answer["status"] == 200, answer
    answer = _api(secretary, f"/api/v1/meetings/{meeting}/attendance/", {"username": MEMBER, "status": "present"})
    assert answer["status"] == 200, answer
    return meeting


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_live_room_during_a_vote_has_no_violation_and_a_keyboard_member_votes(sessions, server_url,
                                                                                   vote_session, viewport):
    """The chair opens a named vote; the member's tablet, checked by axe while the vote is open, is then
    used with the keyboard only: Tab reaches "In favour", whose name says the choice and the motion,
    and Enter casts the vote. The screen reader is told that the vote opened (the polite live region)."""
    meeting = vote_session
    chair, member = sessions.page(CHAIR, viewport), sessions.page(MEMBER, viewport)
    _room(chair, server_url, meeting)
    chair.locator("#room-status[data-status=in_progress]").wait_for()
    _room(member, server_url, meeting)
    assert_accessible(member, f"the room as {MEMBER} ({viewport}), connected")
    assert_accessible(chair, f"the room as the chair ({viewport}), connected")

    title = f"Thông qua Đề án chuyển đổi số {uuid.uuid4().hex[:6]}"
    chair.fill("#room-motion-title", title)
    chair.select_option("#room-motion-method", "named")
    chair.click("#room-motion-create")
    chair_motion = chair.locator("#room-motion-list li[data-motion-id]").filter(has_text=title)
    chair_motion.locator("[data-action=open-motion]").click()
    chair_motion.locator(".vote-chart").wait_for()

    motion = member.locator("#room-motion-list li[data-motion-id]").filter(has_text=title)
    yes = motion.locator("[data-action=vote-yes]")
    yes.wait_for()
    announcer = member.locator("#room-announce")
    assert announcer.get_attribute("aria-live") == "polite"
    member.wait_for_function("(title) => document.getElementById('room-announce').textContent.includes(title)",
                             arg=title)
    assert _norm(announcer.text_content()) == f"Bắt đầu biểu quyết: {title}."
    names = [motion.locator(f"[data-action=vote-{choice}]").get_attribute("aria-label")
             for choice in ("yes", "no", "abstain")]
    assert names == [f"Tán thành — {title}", f"Không tán thành — {title}", f"Không biểu quyết — {title}"]
    assert_accessible(member, f"the room as {MEMBER} ({viewport}) during a vote")
    assert_accessible(chair, f"the room as the chair ({viewport}) during a vote")
    _shot(member, "room-member-ballot")

    # Keyboard only: Tab to "In favour" of this motion, Enter.
    motion_id = motion.get_attribute("data-motion-id")
    target = f"li[data-motion-id='{motion_id}'] [data-action=vote-yes]"
    _tab_to(member, target)
    focus = member.evaluate("""() => { const s = getComputedStyle(document.activeElement);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) }; }""")
    assert focus["style"] != "none" and focus["width"] >= 2, f"the focused vote button shows no focus ring: {focus}"
    _shot(member, "room-member-vote-focused")
    member.keyboard.press("Enter")
    motion.locator(".vote-mine[data-choice=yes]").wait_for()
    chair_motion.locator(".vote-chart[data-yes='1']").wait_for()
    assert_accessible(member, f"the room as {MEMBER} ({viewport}) after voting (receipt shown)")

    chair.once("dialog", lambda dialog: dialog.accept())
    chair_motion.locator("[data-action=close-motion]").click()
    motion.locator(".vote-result").wait_for()
    member.wait_for_function("() => document.getElementById('room-announce').textContent.startsWith('Kết thúc')")
    assert title in announcer.text_content()
    assert_accessible(member, f"the room as {MEMBER} ({viewport}) after the vote closed")
    assert_accessible(chair, f"the room as the chair ({viewport}) after the vote closed")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(SHOTS / f"a11y-{name}-{size['width']}x{size['height']}.png"), full_page=True)


# --- forms showing their errors, and the multi-factor screens --------------------------------------------


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_forms_showing_their_errors_have_no_violation(sessions, server_url, ids, viewport):
    """A refused form names each error beside its field and ties it to the field (aria-describedby)."""
    page = sessions.page(ANONYMOUS, viewport)
    page.goto(f"{server_url}/login/")
    page.fill("input[name=username]", "outsider")
    page.fill("input[name=password]", "not-the-password")
    with page.expect_navigation():
        page.click("form:has(input[name=password]) [type=submit]")
    page.locator(".flash--error[role=alert]").wait_for()
    assert_accessible(page, f"the login refused ({viewport})")

    page = sessions.page(SECRETARY, viewport)
    for path in ("/ballots/new/", "/meetings/new/"):
        page.goto(f"{server_url}{path}")
        with page.expect_navigation():
            page.click("main form [type=submit]")
        field = page.locator("[aria-invalid=true]").first
        field.wait_for()
        assert page.locator(f"#{field.get_attribute('aria-describedby').split()[-1]}.errorlist").count() == 1
        assert_accessible(page, f"{path} refused ({viewport})")


def test_the_multi_factor_screens_have_no_violation(browser, server_url):
    """Authenticator set-up (and its refusal of a wrong code), the recovery codes, the second step of the
    sign-in: member19, whom no other browser test signs in with (it is left with a factor)."""
    from tests.browser.test_mfa_signin import _code

    context = browser.new_context(viewport=PORTRAIT, locale="vi-VN", has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = _log_in(context, server_url, "member19")
        page.goto(f"{server_url}/account/security/")
        with page.expect_navigation():
            page.click("[data-action=enrol-totp]")
        page.locator("[data-totp-qr] svg").wait_for()
        assert_accessible(page, "the authenticator set-up")
        secret = page.locator("[data-totp-secret]").inner_text().strip()
        code, step = _code(secret)
        page.fill("input[name=code]", "000000" if code != "000000" else "111111")
        with page.expect_navigation():
            page.click("[data-action=confirm-totp]")
        page.locator("[data-code=invalid_code]").wait_for()
        assert_accessible(page, "the authenticator set-up refusing a wrong code")
        time.sleep(1.1)  # django-otp throttles after a failure: 1 s
        page.fill("input[name=code]", code)
        with page.expect_navigation():
            page.click("[data-action=confirm-totp]")
        page.locator("[data-recovery-codes]").wait_for()
        assert_accessible(page, "the recovery codes")
        page.goto(f"{server_url}/account/security/")
        assert_accessible(page, "the security screen with a factor")
        with page.expect_navigation():
            page.click("form[action='/logout/'] button")
        page.goto(f"{server_url}/login/")
        page.fill("input[name=username]", "member19")
        page.fill("input[name=password]", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("form:has(input[name=password]) [type=submit]")
        assert page.url.endswith("/login/verify/")
        assert_accessible(page, "the second sign-in step")
        page.fill("input[name=otp]", _code(secret, after=step)[0])
        with page.expect_navigation():
            page.click("form:has(input[name=otp]) [type=submit]")
        assert "/login" not in page.url
    finally:
        context.close()


def test_the_checker_fails_on_a_screen_with_violations(sessions, server_url):
    """axe-core is really run: an unnamed button, low-contrast text, a field without a label and a
    description pointing at nothing, added to the login screen, are all reported."""
    page = sessions.page(ANONYMOUS, "landscape")
    page.goto(f"{server_url}/login/")
    page.evaluate("""() => {
      const main = document.getElementById("main");
      main.insertAdjacentHTML("beforeend", '<button type="button" id="bad-button"></button>'
        + '<p class="bad-contrast">Chữ mờ</p><input type="text" id="bad-input" aria-describedby="nowhere">');
      document.querySelector(".bad-contrast").style.color = "#cccccc";
    }""")
    found = {v["id"] for v in axe_violations(page)}
    assert {"button-name", "color-contrast", "label"} <= found, found
    assert dangling_references(page) == ["input#bad-input aria-describedby=nowhere"]


# --- keyboard: every control shows its focus; Escape closes a disclosure -----------------------------------

FOCUS_WALK = ("home", "session-published", "prepare", "document", "ballot-open", "ballot-edit", "security", "room")


def _focus_walk(page, limit: int = 400) -> tuple[int, list[str]]:
    """Tab through the page from its top to its end; how many controls took the focus, and those that
    showed no focus ring (an outline of at least 2 px, or a box shadow). Tab presses that stay on the
    same control (inside the PDF viewer's frame, a date field's parts) go on, up to 40 in a row: more is
    a trap; coming back to a control seen before ends the walk."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen, unseen, stuck = [], [], 0
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate("""() => { const node = document.activeElement;
          if (!node || node === document.body || !document.hasFocus()) return null;  // past the last control
          const label = node.getAttribute("aria-label") || node.textContent || node.name || "";
          const name = `${node.tagName.toLowerCase()}#${node.id} ${label.trim().slice(0, 40)}`;
          if (node.hasAttribute("data-focus-walked")) return { again: true, name };
          node.setAttribute("data-focus-walked", "");
          const style = getComputedStyle(node);
          const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
            || style.boxShadow !== "none";
          return { ring, name }; }""")
        if focus is None:
            break
        if focus.get("again"):
            if seen and focus["name"] != seen[-1]:
                break  # back to a control seen before: the walk has come round
            stuck += 1
            assert stuck <= 40, f"the focus is trapped on {focus['name']}"
            continue
        stuck = 0
        seen.append(focus["name"])
        if not focus["ring"]:
            unseen.append(focus["name"])
    return len(seen), unseen


@pytest.mark.parametrize("name", FOCUS_WALK)
def test_every_control_shows_its_focus_when_tabbed_to(sessions, server_url, ids, name):
    screen = next(s for s in SCREENS if s.name == name)
    persona = SECRETARY if SECRETARY in screen.personas else screen.personas[0]
    page = _open(sessions, server_url, screen, persona, "landscape", ids)
    reached, unseen = _focus_walk(page)
    assert reached >= 5, f"only {reached} controls reached with Tab on {name}"
    assert not unseen, f"no visible focus on {name} for: {unseen}"


def test_escape_closes_a_disclosure_and_returns_the_focus(sessions, server_url, ids):
    page = _open(sessions, server_url, next(s for s in SCREENS if s.name == "prepare"), SECRETARY, "landscape", ids)
    summary = page.locator("details.disclosure:not([open]) > summary").first.element_handle()
    details = summary.evaluate_handle("(node) => node.parentElement")
    summary.focus()
    page.keyboard.press("Enter")
    assert details.evaluate("(node) => node.open")
    page.keyboard.press("Tab")  # into the form it disclosed
    assert details.evaluate("(node) => node.contains(document.activeElement)"
                            " && !document.activeElement.matches('summary')")
    page.keyboard.press("Escape")
    assert not details.evaluate("(node) => node.open")
    assert summary.evaluate("(node) => node === document.activeElement")


ENGLISH = ("home", "session-published", "room", "ballot-open", "minutes")


def test_in_english_the_page_says_so_and_stays_accessible(browser, server_url, ids):
    """The language switch (keyboard: Tab to "EN", Enter) turns the screens to English: ``<html lang>``
    follows, so a screen reader reads them with English speech, and axe-core still finds nothing."""
    context = browser.new_context(viewport=LANDSCAPE, locale="vi-VN", has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = _log_in(context, server_url, MEMBER)
        _tab_to(page, ".langswitch button[value=en]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        for name in ENGLISH:
            screen = next(s for s in SCREENS if s.name == name)
            page.goto(f"{server_url}{screen.path.format(**ids)}")
            page.locator(screen.ready).first.wait_for()
            assert page.evaluate("() => document.documentElement.lang") == "en", name
            assert_accessible(page, f"{name} in English")
    finally:
        context.close()
