"""Issue 20: results frozen with "Điều 45" (a wrong article: the rules are in Article 46 of Law
76/2015/QH13) are corrected — but only where nothing has been sealed yet.

* A motion's frozen result (``Motion.result``) and a draft minutes' snapshot (``Minutes.record``) that
  carry the old citation get the legal basis in force on their session's date (the session's local
  calendar day, ``starts_at``): Law 76/2015/QH13, Article 46 until 28 February 2025, Law 63/2025/QH15
  from 1 March 2025 — with the version id, instrument, articles and dates, as new results have.
* A session with any sealed document — minutes or resolution, unsigned, partly signed or sealed — is
  left exactly as it is: its rendered PDF embeds the record that was (or is being) signed, and a
  signed record is corrected by a correction document, never edited (docs/legal.md).
* Sessions dated before 1 January 2016 are left alone (no version of the rule is known there).

The versions are copied here, not imported from ``voting.legal``: a migration must do tomorrow what
it does today, whatever the table becomes. The citation override setting is not applied either (it
changes what is printed from now on, not what was stored). Reversing does nothing: the old text was wrong.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

OLD_CITATION = "Luật Tổ chức Chính phủ số 76/2015/QH13, Điều 45 (Law on Government Organisation 2015, art. 45)"
LAW_2015 = "Luật Tổ chức Chính phủ số 76/2015/QH13"
LAW_2025 = "Luật Tổ chức Chính phủ số 63/2025/QH15"
BASIS_2015 = {"citation": f"{LAW_2015}, Điều 46 (Law on Government Organisation 2015, art. 46)",
              "rule_version": "vn-government@2016-01-01", "instrument": LAW_2015, "articles": "Điều 46",
              "in_force_from": "2016-01-01", "in_force_until": "2025-02-28", "citation_vi": f"{LAW_2015}, Điều 46"}
BASIS_2025 = {"citation": f"{LAW_2025}, Điều 25, Điều 26 (Law on Government Organisation 2025, arts. 25–26)",
              "rule_version": "vn-government@2025-03-01", "instrument": LAW_2025, "articles": "Điều 25, Điều 26",
              "in_force_from": "2025-03-01", "in_force_until": None,
              "citation_vi": f"{LAW_2025}, Điều 25, Điều 26"}


def basis_on(starts_at):
    day = starts_at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    if day < dt.date(2016, 1, 1):
        return None
    return BASIS_2015 if day < dt.date(2025, 3, 1) else BASIS_2025


def corrected(value, basis: dict):
    """``value`` (a JSON tree) with every statement citing the old text given ``basis``: the citation
    everywhere, and the whole legal basis in results and quorum statements (those with ``quorum_met``)."""
    if isinstance(value, list):
        return [corrected(v, basis) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: corrected(v, basis) for k, v in value.items()}
    if out.get("citation") == OLD_CITATION:
        out.update(basis if "quorum_met" in out else {"citation": basis["citation"]})
    return out


def correct_unsealed(apps, schema_editor):
    Motion = apps.get_model("voting", "Motion")
    Minutes = apps.get_model("meetings", "Minutes")
    SealedDocument = apps.get_model("meetings", "SealedDocument")
    sealed = set(SealedDocument.objects.values_list("meeting_id", flat=True))
    motions = (Motion.objects.filter(rule="vn-government", result__isnull=False)
               .exclude(agenda_item__meeting_id__in=sealed).select_related("agenda_item__meeting"))
    for motion in motions.iterator():
        basis = basis_on(motion.agenda_item.meeting.starts_at)
        if basis is None or (motion.result or {}).get("citation") != OLD_CITATION:
            continue
        motion.result = corrected(motion.result, basis)
        motion.save(update_fields=["result"])
    for minutes in (Minutes.objects.filter(status="draft").exclude(meeting_id__in=sealed)
                    .select_related("meeting").iterator()):
        basis = basis_on(minutes.meeting.starts_at)
        if basis is None:
            continue
        record = corrected(minutes.record, basis)
        if record != minutes.record:
            minutes.record = record
            minutes.save(update_fields=["record"])


class Migration(migrations.Migration):

    dependencies = [
        ("meetings", "0010_annotation_weight"),
        ("voting", "0003_ballot_meeting"),
    ]

    operations = [migrations.RunPython(correct_unsealed, migrations.RunPython.noop)]
