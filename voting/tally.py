"""Vote-counting rules: pure functions, no ORM, no clock.

Each named preset below states its rule. ``decide(rule, count, on_date=…)`` applies one to a
``Count`` and returns a ``Result`` that carries the rule's name, its citation and the reason for the
outcome, so every published result says which rule produced it. Its legal basis is the version in
force on ``on_date`` (the session's date, ``voting.legal.preset_version``): the result records that
version's id, instrument, article(s) and the days it applies between; without a date, the newest.

Who is counted (the caller builds the ``Count``; these definitions are the contract):

* ``members`` — every member of the body with a vote: for the Government, the Prime Minister and
  every member (27 in the reference session). Observers are never members. Absent members are still
  members: the statutory majorities are fractions of *all* members, not of those present.
* ``present`` — members attending in the room or remotely (both count the same), plus approved
  substitutes when the session lets substitutes vote (each stands for the absent member they
  replace, so ``present`` never exceeds ``members``).
* ``yes``, ``no``, ``abstain`` — votes cast. Abstentions are votes cast but count neither for nor
  against; members who do not vote are simply not counted.
* ``chair_vote`` — how the chair voted (``"yes"``, ``"no"``, ``"abstain"`` or ``None``), used only by
  presets whose chair decides ties.

Presets
-------
``vn-government`` — Law on Government Organisation 2015 (No. 76/2015/QH13), Article 46, until
28 February 2025; from 1 March 2025 the same arithmetic under Law No. 63/2025/QH15 (Articles 25–26),
to be confirmed (``voting.legal`` says where each was read and what is not confirmed):
    1. the session may decide only if at least two thirds of all members are present:
       ``3 × present ≥ 2 × members``;
    2. a motion is adopted if more than half of **all** members vote in favour:
       ``2 × yes > members``;
    3. if the votes in favour and against are equal (``yes == no``), the side the Prime Minister
       voted with prevails: adopted if the chair voted yes, rejected otherwise (no chair vote, or an
       abstention, decides nothing, so the motion fails for want of a majority).
    Rule 3 is applied as the Law words it, to any tie between for and against; it can only matter
    when rule 2 alone would reject.

``simple-majority`` — adopted if more votes are cast in favour than against (``yes > no``);
    abstentions do not count. Quorum: more than half of the members present.

``absolute-majority`` — adopted if more than half of the members vote in favour
    (``2 × yes > members``). Quorum: more than half of the members present.

``two-thirds`` — adopted if at least two thirds of the members vote in favour
    (``3 × yes ≥ 2 × members``). Quorum: more than half of the members present.

All comparisons are done in integers, so "exactly two thirds" and "exactly half" are exact.
Without quorum nothing is adopted, whatever the votes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from enum import StrEnum

from . import legal

__all__ = ["PRESETS", "Count", "Outcome", "Preset", "Result", "citation_of", "decide"]


class Outcome(StrEnum):
    ADOPTED = "adopted"
    ADOPTED_BY_CHAIR = "adopted_by_chairs_casting_vote"
    NO_QUORUM = "no_quorum"
    NOT_ENOUGH_YES = "not_enough_yes"
    REJECTED_BY_CHAIR = "rejected_by_chairs_casting_vote"


@dataclass(frozen=True)
class Count:
    members: int
    present: int
    yes: int = 0
    no: int = 0
    abstain: int = 0
    chair_vote: str | None = None

    def __post_init__(self) -> None:
        if min(self.members, self.present, self.yes, self.no, self.abstain) < 0:
            raise ValueError("counts cannot be negative")
        if self.present > self.members:
            raise ValueError("more present than members")
        if self.yes + self.no + self.abstain > self.present:
            raise ValueError("more votes than members present")
        if self.chair_vote not in (None, "yes", "no", "abstain"):
            raise ValueError("chair_vote must be yes, no, abstain or None")
        if self.chair_vote and getattr(self, self.chair_vote) < 1:
            raise ValueError("the chair's vote must be among the votes counted")


@dataclass(frozen=True)
class Preset:
    name: str
    citation: str
    # Quorum: present / members must be ≥ (or >, when strict) quorum_num / quorum_den.
    quorum_num: int
    quorum_den: int
    quorum_strict: bool
    # Majority: yes measured against "members" or against "yes + no", ≥ or > num/den.
    majority_of: str
    majority_num: int
    majority_den: int
    majority_strict: bool
    chair_breaks_ties: bool = False

    def quorate(self, count: Count) -> bool:
        left, right = count.present * self.quorum_den, count.members * self.quorum_num
        return left > right if self.quorum_strict else left >= right

    def majority(self, count: Count) -> bool:
        base = count.members if self.majority_of == "members" else count.yes + count.no
        left, right = count.yes * self.majority_den, base * self.majority_num
        return left > right if self.majority_strict else left >= right


PRESETS: dict[str, Preset] = {
    "vn-government": Preset(
        name="vn-government",
        # The citation of the newest version; a result cites the version in force on the session's date.
        citation=legal.preset_version("vn-government").table_citation,
        quorum_num=2, quorum_den=3, quorum_strict=False,
        majority_of="members", majority_num=1, majority_den=2, majority_strict=True,
        chair_breaks_ties=True,
    ),
    "simple-majority": Preset(
        name="simple-majority",
        citation="Simple majority of the votes cast (more in favour than against; abstentions not counted)",
        quorum_num=1, quorum_den=2, quorum_strict=True,
        majority_of="cast", majority_num=1, majority_den=2, majority_strict=True,
    ),
    "absolute-majority": Preset(
        name="absolute-majority",
        citation="Absolute majority: more than half of all members in favour",
        quorum_num=1, quorum_den=2, quorum_strict=True,
        majority_of="members", majority_num=1, majority_den=2, majority_strict=True,
    ),
    "two-thirds": Preset(
        name="two-thirds",
        citation="Two-thirds majority: at least two thirds of all members in favour",
        quorum_num=1, quorum_den=2, quorum_strict=True,
        majority_of="members", majority_num=2, majority_den=3, majority_strict=False,
    ),
}


@dataclass(frozen=True)
class Result:
    yes: int
    no: int
    abstain: int
    eligible: int
    present: int
    quorum_met: bool
    adopted: bool
    outcome: str
    rule: str
    citation: str
    # The legal basis in force on the session's date (voting.legal); added by issue 20.
    rule_version: str = ""
    instrument: str = ""
    articles: str = ""
    in_force_from: str | None = None
    in_force_until: str | None = None
    citation_vi: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def decide(rule: str, count: Count, on_date: dt.date | None = None) -> Result:
    """Apply the preset named ``rule`` to ``count``, citing the version of its legal basis in force on
    ``on_date`` (the newest without one). Raises ``KeyError`` for an unknown rule and
    ``voting.legal.NoVersionInForce`` for a day before the first version."""
    preset = PRESETS[rule]
    basis = legal.preset_version(rule, on_date)
    quorate = preset.quorate(count)
    if not quorate:
        outcome = Outcome.NO_QUORUM
    elif preset.majority(count):
        outcome = Outcome.ADOPTED
    elif preset.chair_breaks_ties and count.yes == count.no and count.chair_vote in ("yes", "no"):
        outcome = Outcome.ADOPTED_BY_CHAIR if count.chair_vote == "yes" else Outcome.REJECTED_BY_CHAIR
    else:
        outcome = Outcome.NOT_ENOUGH_YES
    adopted = outcome in (Outcome.ADOPTED, Outcome.ADOPTED_BY_CHAIR)
    return Result(yes=count.yes, no=count.no, abstain=count.abstain, eligible=count.members, present=count.present,
                  quorum_met=quorate, adopted=adopted, outcome=str(outcome), rule=preset.name,
                  citation=citation_of(preset, basis), **basis.as_dict())


def citation_of(preset: Preset, basis: legal.LegalBasis) -> str:
    """The citation a result carries: the version's (statutory rules) or the preset's own text."""
    return basis.citation if basis.instrument or legal.citation_override(basis.id) else preset.citation
