"""The legal basis of the voting rules and of written ballots, versioned by the law in force (issue 20).

One home for "which text does this rule come from, on this day". Pure data and pure functions: no
ORM, no clock; the only thing read from outside is the setting ``ECABINET_LEGAL_CITATIONS``.

A rule (``voting.tally.PRESETS``) keeps its arithmetic; what changes with the law is its legal
basis: the instrument, the article(s), the day from which it applies and the last day it applies.
``preset_version(rule, on_date)`` picks the version in force on a session's date (the local
calendar day the session was convened for, ``session_day``); ``voting.tally.decide`` writes it into
every result, so a result and the minutes built from it cite the law in force on the session's day.

Versions of ``vn-government`` and where each was read (docs/legal.md lists the same, with what is
still to be confirmed):

* ``vn-government@2016-01-01`` — Law on Government Organisation No. 76/2015/QH13 (in force
  1 January 2016), **Article 46**: a session proceeds only with at least two thirds of all members
  present; a decision needs more than half of all members in favour; on a tie, the side the Prime
  Minister voted with prevails. Read in two independent sources:
  https://thuvienphapluat.vn/hoi-dap-phap-luat/iframe/22489-hd-quy-dinh-ve-phien-hop-cua-chinh-phu.html
  ("được quy định cụ thể tại Điều 46 Luật Tổ chức Chính phủ 2015") and
  https://thukyluat.vn/news/diem-tin-van-ban/che-do-lam-viec-cua-chinh-phu-35820.html
  ("Theo quy định tại Điều 46 Luật tổ chức Chính phủ 2015"). In the same law Article 44 is the
  collective regime, Article 45 the monthly sessions and (clause 2) the written consultation of the
  members when the Government does not meet, Article 47 the invitees. Earlier releases printed
  "Điều 45": wrong; sealed records keep it (docs/legal.md: a correction document, never an edit).
  Applies until 28 February 2025.
* ``vn-government@2025-03-01`` — Law on Government Organisation No. 63/2025/QH15, in force
  1 March 2025. Read (a legal Q&A quoting the text,
  http://118.69.201.250:801/phap-luat/che-do-lam-viec-cua-chinh-phu-duoc-quy-dinh-nhu-the-nao-theo-luat-to-chuc-chinh-phu-moi-nhat-hien-n-562824-209009.html):
  Article 25 clause 2 "Chính phủ làm việc theo chế độ tập thể, quyết định theo đa số", clause 3
  "Chính phủ ban hành Quy chế làm việc của Chính phủ"; Article 26 clause 1 monthly regular sessions
  and sessions on request of the President or one third of the members. The quorum (two thirds), the
  majority of all members and the tie rule could **not** be read in the 2025 law or in a Working
  Regulation made under it: the arithmetic stays as it was, the version is marked
  ``confirmed=False`` and docs/legal.md lists it as "to be confirmed by the Office of the
  Government"; ``ECABINET_LEGAL_CITATIONS`` replaces its printed citation once the Office confirms.

Written ballots (``ballot_policy``): the 2015 law, Article 45 clause 2 (the Prime Minister decides to
consult the members in writing when the Government does not meet; read in
https://vietjack.me/phap-luat/nghi-dinh-105-2006-nd-cp-bao-ve-quyen-so-huu-tri-tue-quan-ly-nha-nuoc-huong-dan-luat-so-huu-tri-tue/chuong-vi-1022.html,
which reproduces Chapter VI of the law), then the 2025 law with the Working Regulation (Decree
39/2022/NĐ-CP, https://thuvienphapluat.vn/van-ban/Bo-may-hanh-chinh/Nghi-dinh-39-2022-ND-CP-Quy-che-lam-viec-cua-Chinh-phu-518914.aspx).
The Decree's clauses on the answer deadline and on what an unanswered ballot counts as could not be
read: the policy keeps the ballot's own deadline and its own ``silence_is_consent`` choice (made and
shown by the secretariat), and says so — it never infers agreement from silence on its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = ["BALLOT_POLICIES", "VERSIONS", "BallotPolicy", "LegalBasis", "NoVersionInForce", "ballot_policy",
           "citation_override", "preset_version", "session_day", "versions_of"]


class NoVersionInForce(LookupError):
    """No version of the rule applies on that date (before the first law the system knows)."""


@dataclass(frozen=True)
class LegalBasis:
    """One version of a rule's legal basis. ``valid_until`` is the last day it applies (inclusive);
    ``None`` for ``valid_from``/``valid_until`` means open-ended."""

    id: str
    rule: str
    instrument: str
    articles: str
    citation_vi: str
    citation_en: str
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    confirmed: bool = True
    sources: tuple[str, ...] = ()

    def applies_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and \
            (self.valid_until is None or day <= self.valid_until)

    @property
    def table_citation(self) -> str:
        """The table's citation: Vietnamese, with the English in brackets (no override applied)."""
        return f"{self.citation_vi} ({self.citation_en})" if self.citation_en else self.citation_vi

    @property
    def citation(self) -> str:
        """The citation a result carries: the override when there is one, else the table's."""
        return citation_override(self.id) or self.table_citation

    @property
    def printed_vi(self) -> str:
        """The citation printed in a Vietnamese document (the override when there is one)."""
        return citation_override(self.id) or self.citation_vi

    def as_dict(self) -> dict:
        """What a result or a quorum statement records of its legal basis."""
        return {"rule_version": self.id, "instrument": self.instrument, "articles": self.articles,
                "in_force_from": self.valid_from.isoformat() if self.valid_from else None,
                "in_force_until": self.valid_until.isoformat() if self.valid_until else None,
                "citation_vi": self.printed_vi}


LAW_2015 = "Luật Tổ chức Chính phủ số 76/2015/QH13"
LAW_2025 = "Luật Tổ chức Chính phủ số 63/2025/QH15"
SWITCH_2025 = dt.date(2025, 3, 1)
LAST_DAY_2015 = SWITCH_2025 - dt.timedelta(days=1)

VERSIONS: tuple[LegalBasis, ...] = (
    LegalBasis(
        id="vn-government@2016-01-01", rule="vn-government", instrument=LAW_2015, articles="Điều 46",
        citation_vi=f"{LAW_2015}, Điều 46", citation_en="Law on Government Organisation 2015, art. 46",
        valid_from=dt.date(2016, 1, 1), valid_until=LAST_DAY_2015,
        sources=("https://thuvienphapluat.vn/hoi-dap-phap-luat/iframe/22489-hd-quy-dinh-ve-phien-hop-cua-chinh-phu.html",
                 "https://thukyluat.vn/news/diem-tin-van-ban/che-do-lam-viec-cua-chinh-phu-35820.html")),
    LegalBasis(
        id="vn-government@2025-03-01", rule="vn-government", instrument=LAW_2025, articles="Điều 25, Điều 26",
        citation_vi=f"{LAW_2025}, Điều 25, Điều 26",
        citation_en="Law on Government Organisation 2025, arts. 25–26",
        valid_from=SWITCH_2025, confirmed=False,
        sources=("http://118.69.201.250:801/phap-luat/che-do-lam-viec-cua-chinh-phu-duoc-quy-dinh-nhu-the-nao-theo-"
                 "luat-to-chuc-chinh-phu-moi-nhat-hien-n-562824-209009.html",)),
    LegalBasis(
        id="simple-majority", rule="simple-majority", instrument="", articles="",
        citation_vi="nguyên tắc đa số phiếu tán thành trên tổng số phiếu biểu quyết", citation_en=""),
    LegalBasis(
        id="absolute-majority", rule="absolute-majority", instrument="", articles="",
        citation_vi="nguyên tắc quá nửa tổng số thành viên tán thành", citation_en=""),
    LegalBasis(
        id="two-thirds", rule="two-thirds", instrument="", articles="",
        citation_vi="nguyên tắc ít nhất hai phần ba tổng số thành viên tán thành", citation_en=""),
)
BY_ID = {v.id: v for v in VERSIONS}


def versions_of(rule: str) -> list[LegalBasis]:
    """The versions of ``rule``, oldest first. Raises ``KeyError`` for a rule with none."""
    found = sorted((v for v in VERSIONS if v.rule == rule), key=lambda v: v.valid_from or dt.date.min)
    if not found:
        raise KeyError(rule)
    return found


def preset_version(rule: str, on_date: dt.date | None = None) -> LegalBasis:
    """The version of ``rule`` in force on ``on_date`` (the newest one when ``on_date`` is None).
    Raises ``KeyError`` for an unknown rule and ``NoVersionInForce`` for a day no version covers."""
    versions = versions_of(rule)
    if on_date is None:
        return versions[-1]
    for version in versions:
        if version.applies_on(on_date):
            return version
    raise NoVersionInForce(f"no version of the rule {rule!r} applies on {on_date.isoformat()}")


def session_day(starts_at: dt.datetime | None) -> dt.date | None:
    """A session's date: the local calendar day (``TIME_ZONE``) it was convened for (``Meeting.starts_at``,
    the date of its notice of convocation). Known before the session opens, and not moved by a late
    start or a session that runs past midnight."""
    from django.conf import settings

    if starts_at is None:
        return None
    return starts_at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def citation_override(version_id: str) -> str | None:
    """``settings.ECABINET_LEGAL_CITATIONS[version_id]``: the citation text the Office of the
    Government confirmed, replacing the table's (docs/legal.md). Empty or absent: no override."""
    from django.conf import settings

    overrides = getattr(settings, "ECABINET_LEGAL_CITATIONS", None) or {}
    text = overrides.get(version_id)
    return (str(text).strip() or None) if text else None


# --- written opinion ballots ---------------------------------------------------------------------


@dataclass(frozen=True)
class BallotPolicy:
    """The rules of a written ballot (phiếu lấy ý kiến) in force on the day it is issued.

    ``silence``: ``"as_set_on_ballot"`` — whether an unanswered question counts as agreement is the
    ballot's own ``silence_is_consent``, chosen by the secretariat and printed on the ballot and its
    summary; no version here makes silence agreement by itself (the text saying so could not be
    read). ``deadline``: ``"as_set_on_ballot"`` — the deadline the secretariat set, checked at the
    second; no statutory minimum is enforced for the same reason."""

    id: str
    citation_vi: str
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    deadline: str = "as_set_on_ballot"
    silence: str = "as_set_on_ballot"
    confirmed: bool = True

    def applies_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and \
            (self.valid_until is None or day <= self.valid_until)

    @property
    def printed_vi(self) -> str:
        return citation_override(self.id) or self.citation_vi

    def as_dict(self) -> dict:
        return {"policy": self.id, "citation_vi": self.printed_vi, "deadline": self.deadline, "silence": self.silence,
                "confirmed": self.confirmed,
                "in_force_from": self.valid_from.isoformat() if self.valid_from else None,
                "in_force_until": self.valid_until.isoformat() if self.valid_until else None}


BALLOT_POLICIES: tuple[BallotPolicy, ...] = (
    BallotPolicy(id="written-opinion@2016-01-01", citation_vi=f"{LAW_2015}, khoản 2 Điều 45",
                 valid_from=dt.date(2016, 1, 1), valid_until=LAST_DAY_2015),
    BallotPolicy(id="written-opinion@2025-03-01",
                 citation_vi=f"{LAW_2025}, Điều 26; Quy chế làm việc của Chính phủ (Nghị định số 39/2022/NĐ-CP)",
                 valid_from=SWITCH_2025, confirmed=False),
)


def ballot_policy(on_date: dt.date | None) -> BallotPolicy | None:
    """The written-ballot policy in force on ``on_date`` (the ballot's issue day, or today for a
    draft); None before the first one the system knows."""
    if on_date is None:
        return BALLOT_POLICIES[-1]
    return next((p for p in BALLOT_POLICIES if p.applies_on(on_date)), None)
