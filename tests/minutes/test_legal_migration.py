"""Issue 20: the data migration that corrects "Điều 45" to the legal basis in force on the session's
date touches only what is not sealed. The demo's sealed minutes stay byte for byte as signed and
still pass ``verify_minutes``; unsealed results of sessions before and after 1 March 2025 are
corrected, each to its own law."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from meetings import services
from meetings.models import Meeting, Minutes, SealedDocument
from voting.models import Motion

migration = importlib.import_module("voting.migrations.0004_legal_basis_article_46")
OLD = migration.OLD_CITATION
LEGAL_BASIS = ("rule_version", "instrument", "articles", "in_force_from", "in_force_until", "citation_vi")


def legacy(result: dict) -> dict:
    """``result`` as the releases before issue 20 froze it: the wrong article, no legal basis."""
    return {**{k: v for k, v in result.items() if k not in LEGAL_BASIS}, "citation": OLD}


def legacy_motion(meeting: Meeting, result: dict, secretary) -> Motion:
    """A closed motion with a result frozen by the old release, in ``meeting`` (data as it is stored)."""
    item = services.agenda_item_add(actor=secretary, meeting=meeting, title="Mục biểu quyết cũ")
    return Motion.objects.create(agenda_item=item, title="Biểu quyết cũ", rule="vn-government", status="closed",
                                 created_by=secretary, result=legacy(result))


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.PKI_DIR = tmp_path / "pki"
    settings.SIGNING_TRUST_ROOTS = [settings.PKI_DIR / "ca.pem"]
    call_command("seed_demo", stdout=StringIO())
    return Meeting.objects.get(status=Meeting.Status.CLOSED)


def test_the_migration_corrects_only_what_is_not_sealed(demo, settings):
    sealed_motions = list(Motion.objects.filter(agenda_item__meeting=demo, result__isnull=False))
    assert sealed_motions and SealedDocument.objects.filter(meeting=demo, status="sealed").count() == 2
    # The demo's sealed session, as if its results had been frozen by the old release.
    for motion in sealed_motions:
        Motion.objects.filter(pk=motion.pk).update(result=legacy(motion.result))
    before = {m.pk: copy.deepcopy(m.result) for m in Motion.objects.filter(agenda_item__meeting=demo)}
    documents = {d.pk: (d.sha256, d.record_sha256, hashlib.sha256(d.file.read()).hexdigest())
                 for d in SealedDocument.objects.filter(meeting=demo)}
    sealed_record = Minutes.objects.get(meeting=demo).record

    secretary = sealed_motions[0].created_by
    sample = sealed_motions[0].result
    old_session = services.meeting_create(actor=secretary, title="Phiên họp tháng 6 năm 2019", kind="regular",
                                          starts_at=dt.datetime(2019, 6, 24, 8, 30, tzinfo=dt.UTC))
    last_day = services.meeting_create(actor=secretary, title="Phiên họp ngày 28/02/2025", kind="regular",
                                       starts_at=dt.datetime(2025, 2, 28, 9, 0, tzinfo=dt.UTC))
    first_day = services.meeting_create(actor=secretary, title="Phiên họp ngày 01/03/2025", kind="regular",
                                        starts_at=dt.datetime(2025, 2, 28, 23, 30, tzinfo=dt.UTC))  # 06:30 on 1 March
    older = legacy_motion(old_session, sample, secretary)
    on_last_day = legacy_motion(last_day, sample, secretary)
    on_first_day = legacy_motion(first_day, sample, secretary)
    already_right = legacy_motion(first_day, sample, secretary)
    Motion.objects.filter(pk=already_right.pk).update(result={**legacy(sample), "citation": "văn bản khác"})

    migration.correct_unsealed(apps, None)

    # Sealed: the stored results, the documents and the minutes' snapshot are untouched, and verify.
    assert {m.pk: m.result for m in Motion.objects.filter(agenda_item__meeting=demo)} == before
    assert {d.pk: (d.sha256, d.record_sha256, hashlib.sha256(d.file.read()).hexdigest())
            for d in SealedDocument.objects.filter(meeting=demo)} == documents
    assert Minutes.objects.get(meeting=demo).record == sealed_record
    for document in SealedDocument.objects.filter(meeting=demo):
        call_command("verify_minutes", document.file.path, "--trust-root", str(settings.PKI_DIR / "ca.pem"),
                     stdout=StringIO())

    # Not sealed: each corrected to the law in force on its session's (local) date.
    for motion, version, cites in ((older, "vn-government@2016-01-01", "76/2015/QH13, Điều 46 ("),
                                   (on_last_day, "vn-government@2016-01-01", "76/2015/QH13, Điều 46 ("),
                                   (on_first_day, "vn-government@2025-03-01", "63/2025/QH15, Điều 25, Điều 26 (")):
        motion.refresh_from_db()
        assert motion.result["rule_version"] == version and cites in motion.result["citation"], motion.title
        assert {k: v for k, v in motion.result.items() if k not in (*LEGAL_BASIS, "citation")} == \
            {k: v for k, v in sample.items() if k not in (*LEGAL_BASIS, "citation")}  # the counts stay
    already_right.refresh_from_db()
    assert already_right.result["citation"] == "văn bản khác" and "rule_version" not in already_right.result

    # Running it again changes nothing.
    snapshot = {m.pk: m.result for m in Motion.objects.all()}
    migration.correct_unsealed(apps, None)
    assert {m.pk: m.result for m in Motion.objects.all()} == snapshot


def test_the_correction_reaches_a_draft_minutes_snapshot_but_not_a_finalised_one():
    basis = migration.BASIS_2015
    record = {"quorum": {"rule": "vn-government", "citation": OLD, "quorum_met": True},
              "agenda": [{"motions": [{"citation": OLD, "result": {"citation": OLD, "quorum_met": True}}]}]}
    fixed = migration.corrected(record, basis)
    assert fixed["quorum"]["citation"] == basis["citation"] and fixed["quorum"]["rule_version"] == basis["rule_version"]
    motion = fixed["agenda"][0]["motions"][0]
    assert motion["citation"] == basis["citation"] and "rule_version" not in motion
    assert motion["result"]["articles"] == "Điều 46"
    assert migration.corrected({"citation": "khác", "quorum_met": True}, basis) == {"citation": "khác",
                                                                                   "quorum_met": True}
