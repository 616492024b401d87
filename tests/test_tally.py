"""The vote-counting presets, case by case, at their boundaries. No database."""

import datetime as dt

import pytest

from voting.tally import PRESETS, Count, decide

VN = "vn-government"

CASES = [
    # rule, members, present, yes, no, abstain, chair_vote, quorum_met, adopted, outcome
    # -- vn-government: quorum 2/3 of all members present, > 1/2 of ALL members in favour, chair breaks ties
    (VN, 27, 25, 25, 0, 0, "yes", True, True, "adopted"),            # 24 June 2019: 21 + 4 remote, 25 in favour
    (VN, 27, 18, 14, 4, 0, "yes", True, True, "adopted"),            # exactly 2/3 present (18/27)
    (VN, 27, 17, 17, 0, 0, "yes", False, False, "no_quorum"),        # one short of 2/3: nothing is adopted
    (VN, 27, 25, 13, 5, 7, "yes", True, False, "not_enough_yes"),    # 13 < 13.5: half of all is not enough
    (VN, 27, 25, 14, 11, 0, "no", True, True, "adopted"),            # 14 > 13.5, even against the chair
    (VN, 26, 26, 13, 13, 0, "yes", True, True, "adopted_by_chairs_casting_vote"),   # exactly half, tie
    (VN, 26, 26, 13, 13, 0, "no", True, False, "rejected_by_chairs_casting_vote"),
    (VN, 26, 26, 13, 12, 1, None, True, False, "not_enough_yes"),    # exactly half of all, no tie
    (VN, 27, 27, 13, 13, 1, "abstain", True, False, "not_enough_yes"),  # tie, the chair abstained
    (VN, 27, 27, 13, 13, 1, None, True, False, "not_enough_yes"),    # tie without the chair's vote
    (VN, 27, 27, 13, 13, 0, "yes", True, True, "adopted_by_chairs_casting_vote"),  # tie, chair in favour
    (VN, 27, 20, 0, 0, 0, None, True, False, "not_enough_yes"),      # nobody voted
    (VN, 27, 0, 0, 0, 0, None, False, False, "no_quorum"),
    # -- simple-majority: yes > no among votes cast; quorum > 1/2 present
    ("simple-majority", 10, 6, 3, 2, 1, None, True, True, "adopted"),
    ("simple-majority", 10, 6, 3, 3, 0, "yes", True, False, "not_enough_yes"),   # a tie fails; no casting vote
    ("simple-majority", 10, 5, 5, 0, 0, None, False, False, "no_quorum"),        # exactly half present
    ("simple-majority", 10, 6, 0, 0, 6, None, True, False, "not_enough_yes"),    # all abstain
    ("simple-majority", 10, 6, 1, 0, 5, None, True, True, "adopted"),
    # -- absolute-majority: yes > 1/2 of all members
    ("absolute-majority", 10, 10, 5, 5, 0, "yes", True, False, "not_enough_yes"),  # exactly half
    ("absolute-majority", 10, 8, 6, 2, 0, None, True, True, "adopted"),
    ("absolute-majority", 9, 9, 5, 4, 0, None, True, True, "adopted"),
    # -- two-thirds: yes >= 2/3 of all members
    ("two-thirds", 9, 9, 6, 3, 0, None, True, True, "adopted"),       # exactly 2/3
    ("two-thirds", 9, 9, 5, 4, 0, None, True, False, "not_enough_yes"),
    ("two-thirds", 10, 10, 7, 3, 0, None, True, True, "adopted"),     # 7 ≥ 6.67
    ("two-thirds", 10, 10, 6, 4, 0, None, True, False, "not_enough_yes"),
    ("two-thirds", 9, 4, 4, 0, 0, None, False, False, "no_quorum"),
]


FIELDS = ("rule", "members", "present", "yes", "no", "abstain", "chair", "quorum", "adopted", "outcome")


@pytest.mark.parametrize(FIELDS, CASES)
def test_it_applies_each_preset_exactly_at_its_boundaries(rule, members, present, yes, no, abstain, chair, quorum,
                                                          adopted, outcome):
    result = decide(rule, Count(members=members, present=present, yes=yes, no=no, abstain=abstain, chair_vote=chair))
    assert (result.quorum_met, result.adopted, result.outcome) == (quorum, adopted, outcome)
    assert (result.yes, result.no, result.abstain, result.eligible, result.present) == (yes, no, abstain, members,
                                                                                       present)
    assert result.rule == rule and result.citation == PRESETS[rule].citation


def test_it_cites_the_law_for_the_government_rule():
    count = Count(members=27, present=27, yes=27, chair_vote="yes")
    assert "76/2015/QH13, Điều 46" in decide(VN, count, dt.date(2019, 6, 24)).citation
    assert "63/2025/QH15" in decide(VN, count).citation == PRESETS[VN].citation
    assert "Điều 45" not in decide(VN, count, dt.date(2019, 6, 24)).citation


@pytest.mark.parametrize("count", [
    dict(members=5, present=6),
    dict(members=5, present=3, yes=2, no=2),
    dict(members=5, present=5, yes=-1),
    dict(members=5, present=5, yes=0, chair_vote="yes"),
    dict(members=5, present=5, yes=1, chair_vote="maybe"),
])
def test_it_refuses_impossible_counts(count):
    with pytest.raises(ValueError):
        Count(**count)


def test_it_refuses_an_unknown_rule():
    with pytest.raises(KeyError):
        decide("majority-of-the-loudest", Count(members=3, present=3, yes=3))
