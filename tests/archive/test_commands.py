"""``manage.py export_archive`` and ``manage.py verify_archive``: progress on stderr, clear errors
with machine codes, nothing left behind on failure, exit status 1 whenever a check fails."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from ecabinet import pki
from ecabinet.models import AuditEntry
from meetings.models import Meeting

from .tamper import copy_of, flip_byte, matching

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_writes_a_bag_with_a_progress_bar_and_verify_passes(closed_session, tmp_path):
    out, err = run("export_archive", str(closed_session.meeting.pk), "--output", str(tmp_path / "bag"))
    assert "NO SEALED MINUTES" in out and (tmp_path / "bag" / "bagit.txt").exists()
    assert "[#" in err and "done" in err.splitlines()[-1]
    entry = AuditEntry.objects.filter(action="archive.exported").get()
    assert (entry.meeting_id, entry.actor_id, entry.data["via"]) == (closed_session.meeting.pk, None, "command")

    out, _ = run("verify_archive", str(tmp_path / "bag"))
    assert "OK   bag:" in out and "every check passed" in out and "FAIL" not in out


def test_export_as_zip_then_verify_the_zip(closed_session, tmp_path):
    target = tmp_path / "out" / "session.zip"
    run("export_archive", str(closed_session.meeting.pk), "--output", str(target), "--zip", "--verbosity", "0")
    assert target.is_file() and [p.name for p in target.parent.iterdir()] == ["session.zip"]
    out, _ = run("verify_archive", str(target))
    assert "every check passed" in out


def test_verify_names_the_changed_file_and_exits_1(bag, tmp_path):
    copy = copy_of(bag.path, tmp_path / "bag")
    changed = matching(copy, "data/documents/*/v*.pdf")[0]
    flip_byte(copy / changed)
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("verify_archive", str(copy), "--trust-root", str(bag.pki_dir / "ca.pem"), stdout=out)
    assert caught.value.returncode == 1
    text = out.getvalue()
    assert "FAIL bag:" in text and f"{changed}: changed (sha256 mismatch)" in text
    assert "OK   signatures:" in text


def test_verify_with_another_trust_root_fails_the_signatures(bag, tmp_path):
    _, other = pki.create_ca("Another CA")
    pem = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.serialization import Encoding

    pem.write_bytes(other.public_bytes(Encoding.PEM))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_archive", str(bag.path), "--trust-root", str(pem), stdout=out)
    assert "FAIL signatures:" in out.getvalue() and "data/minutes/minutes.pdf: signature check failed" in out.getvalue()


def test_export_refuses_an_open_session_and_leaves_nothing(cast, tmp_path):
    cast.set_status(Meeting.Status.ADJOURNED)
    (tmp_path / "out").mkdir()
    with pytest.raises(CommandError) as caught:
        run("export_archive", str(cast.meeting.pk), "--output", str(tmp_path / "out" / "bag"), "--zip")
    assert "[meeting_not_closed]" in str(caught.value) and caught.value.returncode == 1
    assert list((tmp_path / "out").iterdir()) == []


def test_export_refuses_an_unknown_session_and_an_existing_output(closed_session, tmp_path):
    with pytest.raises(CommandError, match=r"\[not_found\]"):
        run("export_archive", "999999", "--output", str(tmp_path / "bag"))
    (tmp_path / "taken").mkdir()
    with pytest.raises(CommandError, match=r"\[archive_output_exists\]"):
        run("export_archive", str(closed_session.meeting.pk), "--output", str(tmp_path / "taken"))
