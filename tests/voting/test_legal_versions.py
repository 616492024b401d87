"""Issue 20: the legal basis of each preset, version by version and day by day (``voting.legal``), and
what ``voting.tally.decide`` writes into a result. No database."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from voting import legal
from voting.tally import PRESETS, Count, decide

VN = "vn-government"
D = dt.date
LAW_2015 = "Luật Tổ chức Chính phủ số 76/2015/QH13"
LAW_2025 = "Luật Tổ chức Chính phủ số 63/2025/QH15"

# rule, session's date, version id, instrument, articles, in force from, in force until
VERSION_CASES = [
    (VN, D(2016, 1, 1), "vn-government@2016-01-01", LAW_2015, "Điều 46", "2016-01-01", "2025-02-28"),
    (VN, D(2019, 6, 24), "vn-government@2016-01-01", LAW_2015, "Điều 46", "2016-01-01", "2025-02-28"),  # reference
    (VN, D(2025, 2, 28), "vn-government@2016-01-01", LAW_2015, "Điều 46", "2016-01-01", "2025-02-28"),  # last day
    (VN, D(2025, 3, 1), "vn-government@2025-03-01", LAW_2025, "Điều 25, Điều 26", "2025-03-01", None),  # first day
    (VN, D(2026, 12, 7), "vn-government@2025-03-01", LAW_2025, "Điều 25, Điều 26", "2025-03-01", None),  # today
    (VN, None, "vn-government@2025-03-01", LAW_2025, "Điều 25, Điều 26", "2025-03-01", None),  # no date: newest
    ("simple-majority", D(2019, 6, 24), "simple-majority", "", "", None, None),
    ("simple-majority", D(2026, 12, 7), "simple-majority", "", "", None, None),
    ("absolute-majority", D(1999, 1, 1), "absolute-majority", "", "", None, None),
    ("two-thirds", D(2025, 3, 1), "two-thirds", "", "", None, None),
]


@pytest.mark.parametrize(("rule", "day", "version", "instrument", "articles", "since", "until"), VERSION_CASES)
def test_each_session_date_gets_the_version_in_force_that_day(rule, day, version, instrument, articles, since, until):
    basis = legal.preset_version(rule, day)
    assert (basis.id, basis.instrument, basis.articles) == (version, instrument, articles)
    result = decide(rule, Count(members=27, present=25, yes=25, chair_vote="yes"), day).as_dict()
    assert (result["rule_version"], result["instrument"], result["articles"]) == (version, instrument, articles)
    assert (result["in_force_from"], result["in_force_until"]) == (since, until)
    assert result["rule"] == rule and result["adopted"] is True
    if instrument:
        assert result["citation"].startswith(f"{instrument}, {articles} (")
        assert result["citation_vi"] == f"{instrument}, {articles}"
    else:  # the non-statutory presets keep their own text, whatever the day
        assert result["citation"] == PRESETS[rule].citation


# The arithmetic does not change with the version (the 2025 law's figures are to be confirmed: same rule).
@pytest.mark.parametrize("day", [D(2019, 6, 24), D(2025, 2, 28), D(2025, 3, 1), D(2026, 12, 7)])
@pytest.mark.parametrize(("present", "yes", "no", "chair", "outcome"), [
    (17, 17, 0, "yes", "no_quorum"),                       # one short of two thirds of 27
    (18, 14, 4, "yes", "adopted"),                         # exactly two thirds present, 14 > 13.5
    (25, 13, 5, "yes", "not_enough_yes"),                  # 13 of 27 is not more than half of all
])
def test_the_rule_itself_is_the_same_in_every_version(day, present, yes, no, chair, outcome):
    assert decide(VN, Count(members=27, present=present, yes=yes, no=no, chair_vote=chair), day).outcome == outcome


def test_the_2015_law_is_cited_at_article_46_never_45():
    for day in (D(2016, 1, 1), D(2019, 6, 24), D(2025, 2, 28)):
        citation = decide(VN, Count(members=3, present=3, yes=3), day).citation
        assert "Điều 46" in citation and "art. 46" in citation
        assert "Điều 45" not in citation and "art. 45" not in citation


def test_a_day_before_the_first_version_has_no_basis_and_an_unknown_rule_none_at_all():
    with pytest.raises(legal.NoVersionInForce):
        legal.preset_version(VN, D(2015, 12, 31))
    with pytest.raises(legal.NoVersionInForce):
        decide(VN, Count(members=3, present=3, yes=3), D(2015, 12, 31))
    with pytest.raises(KeyError):
        legal.preset_version("no-such-rule", D(2020, 1, 1))


def test_versions_of_a_rule_do_not_overlap_and_leave_no_gap():
    for rule in PRESETS:
        versions = legal.versions_of(rule)
        for earlier, later in itertools.pairwise(versions):
            assert earlier.valid_until + dt.timedelta(days=1) == later.valid_from, (earlier.id, later.id)
        assert versions[-1].valid_until is None


def test_what_is_not_confirmed_is_marked_so():
    assert legal.preset_version(VN, D(2019, 6, 24)).confirmed is True
    assert legal.preset_version(VN, D(2026, 12, 7)).confirmed is False
    assert all(v.sources for v in legal.VERSIONS if v.instrument)


@pytest.mark.parametrize(("day", "key"), [(D(2026, 12, 7), "vn-government@2025-03-01"),
                                          (D(2019, 6, 24), "vn-government@2016-01-01")])
def test_the_office_of_the_government_can_override_a_versions_citation(settings, day, key):
    text = "Luật Tổ chức Chính phủ số 63/2025/QH15, Điều 26; Nghị định số 01/2099/NĐ-CP, Điều 20"
    other = "vn-government@2016-01-01" if key != "vn-government@2016-01-01" else "vn-government@2025-03-01"
    settings.ECABINET_LEGAL_CITATIONS = {key: text}
    result = decide(VN, Count(members=3, present=3, yes=3), day)
    assert (result.citation, result.citation_vi, result.rule_version) == (text, text, key)
    assert legal.preset_version(VN, D(2019, 6, 24) if day.year > 2020 else D(2026, 12, 7)).citation != text
    assert legal.citation_override(other) is None
    settings.ECABINET_LEGAL_CITATIONS = {key: "  "}  # blank: no override
    assert decide(VN, Count(members=3, present=3, yes=3), day).citation != "  "


@pytest.mark.parametrize(("moment", "day"), [
    # The local (Hà Nội) calendar day, not the UTC one: 06:00 on 1 March in Hà Nội is still 28 February in UTC.
    (dt.datetime(2025, 2, 28, 23, 0, tzinfo=dt.UTC), D(2025, 3, 1)),
    (dt.datetime(2025, 2, 28, 16, 59, tzinfo=dt.UTC), D(2025, 2, 28)),
    (dt.datetime(2019, 6, 24, 1, 30, tzinfo=dt.UTC), D(2019, 6, 24)),
    (None, None),
])
def test_a_sessions_date_is_its_local_calendar_day(settings, moment, day):
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"
    assert legal.session_day(moment) == day


@pytest.mark.parametrize(("day", "policy", "cites"), [
    (D(2019, 6, 24), "written-opinion@2016-01-01", "76/2015/QH13, khoản 2 Điều 45"),
    (D(2025, 2, 28), "written-opinion@2016-01-01", "76/2015/QH13, khoản 2 Điều 45"),
    (D(2025, 3, 1), "written-opinion@2025-03-01", "63/2025/QH15, Điều 26"),
    (D(2026, 12, 7), "written-opinion@2025-03-01", "63/2025/QH15, Điều 26"),
])
def test_written_ballots_follow_the_policy_in_force_on_their_issue_day(day, policy, cites):
    found = legal.ballot_policy(day)
    assert found.id == policy and cites in found.printed_vi
    # No version makes silence agreement by itself: the ballot's own choice decides.
    assert (found.silence, found.deadline) == ("as_set_on_ballot", "as_set_on_ballot")
    assert legal.ballot_policy(D(2015, 6, 1)) is None


@pytest.mark.parametrize(("overrides", "problem"), [
    ({}, None),
    ({"vn-government@2025-03-01": "Luật Tổ chức Chính phủ số 63/2025/QH15, Điều 26"}, None),
    ({"written-opinion@2025-03-01": "Nghị định số 39/2022/NĐ-CP, Điều 20"}, None),
    ({"vn-government@2025": "x"}, "unknown version"),
    ({"vn-government@2025-03-01": "   "}, "non-empty text"),
    ({"vn-government@2025-03-01": "x" * 501}, "non-empty text"),
    (["vn-government@2025-03-01"], "JSON object"),
])
def test_the_override_setting_is_checked_at_start_up(settings, overrides, problem):
    from voting.checks import check_legal_citations

    settings.ECABINET_LEGAL_CITATIONS = overrides
    errors = check_legal_citations(None)
    assert [e.id for e in errors] == ([] if problem is None else ["voting.E001"])
    assert problem is None or problem in errors[0].msg
