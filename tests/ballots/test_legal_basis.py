"""Issue 20: a written ballot states the rules of written ballots in force on the day it was issued
(``voting.legal.ballot_policy``) — on its page, in its summary and in the summary PDF — and silence
counts as agreement only where the ballot itself says so, whatever the version."""

from __future__ import annotations

import datetime as dt

import pytest

from voting.services import ballots as services

from .test_summary_pdf import text_of

HANOI = dt.timezone(dt.timedelta(hours=7))


@pytest.mark.parametrize(("issued", "policy", "cites", "confirmed"), [
    (dt.datetime(2019, 6, 24, 9, 0, tzinfo=HANOI), "written-opinion@2016-01-01",
     "Luật Tổ chức Chính phủ số 76/2015/QH13, khoản 2 Điều 45", True),
    (dt.datetime(2025, 2, 28, 23, 30, tzinfo=HANOI), "written-opinion@2016-01-01",
     "Luật Tổ chức Chính phủ số 76/2015/QH13, khoản 2 Điều 45", True),
    (dt.datetime(2025, 3, 1, 6, 0, tzinfo=HANOI), "written-opinion@2025-03-01",  # still 28 Feb in UTC
     "Luật Tổ chức Chính phủ số 63/2025/QH15, Điều 26", False),
])
def test_a_ballot_states_the_policy_in_force_on_its_issue_day(bcast, clock, issued, policy, cites, confirmed):
    clock.to(issued)
    bcast.issue()
    summary = bcast.api(bcast.secretary).get(f"/api/v1/ballots/{bcast.ballot.pk}/summary/").json()
    assert summary["policy"]["policy"] == policy and summary["policy"]["citation_vi"].startswith(cites)
    assert summary["policy"]["confirmed"] is confirmed
    assert summary["policy"]["silence"] == "as_set_on_ballot"
    assert cites in summary["legal_basis_statement"]
    assert ("to be confirmed by the Office of the Government" in summary["legal_basis_statement"]) is not confirmed
    page = bcast.browser(bcast.member).get(f"/ballots/{bcast.ballot.pk}/").content.decode()
    assert f'data-ballot-policy="{policy}"' in page and cites in page
    text = text_of(bcast.api(bcast.secretary).get(f"/api/v1/ballots/{bcast.ballot.pk}/summary.pdf").content)
    assert f"Căn cứ: {cites}".replace(" ", "") in text.replace(" ", "")
    assert ("chờ Văn phòng Chính phủ xác nhận" in text) is not confirmed


@pytest.mark.parametrize("consent", [True, False])
def test_silence_is_agreement_only_where_the_ballot_says_so(bcast, clock, consent):
    services.ballot_update(actor=bcast.secretary, ballot=bcast.ballot, title=bcast.ballot.title,
                           deadline=bcast.ballot.deadline, silence_is_consent=consent)
    bcast.issue()
    bcast.answer(bcast.pm, (0, "agree", ""), (1, "agree", ""))
    clock.to(bcast.ballot.deadline)
    summary = bcast.api(bcast.secretary).get(f"/api/v1/ballots/{bcast.ballot.pk}/summary/").json()
    assert summary["policy"]["policy"] == "written-opinion@2025-03-01"
    assert summary["questions"][0]["agree_with_silence"] == (3 if consent else None)
    assert summary["silence_is_consent"] is consent


def test_a_draft_states_the_policy_of_today(bcast, clock):
    clock.to(dt.datetime(2019, 6, 24, 9, 0, tzinfo=HANOI))  # a draft has no issue day: the day it is read
    page = bcast.browser(bcast.secretary).get(f"/ballots/{bcast.ballot.pk}/", follow=True).content.decode()
    assert 'data-ballot-policy="written-opinion@2016-01-01"' in page
