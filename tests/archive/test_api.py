"""``GET /api/v1/meetings/{id}/archive/``: archivists (closed sessions) and the session's secretariat
get the BagIt package as a zip; participants 403; everybody else the same 404 as a missing session;
a session that is not closed 409 ``meeting_not_closed``. Every export is audited."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from ecabinet.models import AuditEntry
from meetings.models import Meeting
from records.archive.verify import verify_bag


def url(meeting_id: int) -> str:
    return f"/api/v1/meetings/{meeting_id}/archive/"


def download(cast, user, meeting_id=None):
    return cast.client(user).get(url(meeting_id or cast.meeting.pk))


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_an_archivist_downloads_the_zip_of_a_closed_session(closed_session, tmp_path):
    cast = closed_session
    response = download(cast, cast.archivist)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="ecabinet-session-{cast.meeting.pk}.zip"'
    assert "no-store" in response["Cache-Control"]
    data = body(response)
    root = f"ecabinet-session-{cast.meeting.pk}"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        manifest = archive.read(f"{root}/manifest-sha256.txt")
    assert {f"{root}/bagit.txt", f"{root}/bag-info.txt", f"{root}/data/record/record.json",
            f"{root}/data/record/record.akn.xml", f"{root}/data/votes/motions.csv",
            f"{root}/data/audit/chain-proof.json", f"{root}/data/documents/index.csv"} <= names
    assert sum(1 for n in names if n.startswith(f"{root}/data/documents/") and n.endswith(".pdf")) == 3
    (tmp_path / "a.zip").write_bytes(data)
    assert verify_bag(tmp_path / "a.zip", trust_roots=[]).ok

    entry = AuditEntry.objects.filter(action="archive.exported").get()
    assert (entry.actor_id, entry.meeting_id, entry.data["via"]) == (cast.archivist.pk, cast.meeting.pk, "api")
    assert entry.data["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()


def test_the_sessions_secretary_downloads_it_too(closed_session):
    assert download(closed_session, closed_session.secretary).status_code == 200


@pytest.mark.parametrize("who", ["pm", "member", "observer"])
def test_participants_are_refused_with_403(closed_session, who):
    response = download(closed_session, getattr(closed_session, who))
    assert (response.status_code, response.json()["code"]) == (403, "archive_forbidden")


@pytest.mark.parametrize("who", ["outsider", "admin"])
def test_whoever_cannot_see_the_session_gets_the_404_of_a_missing_one(closed_session, who):
    response = download(closed_session, getattr(closed_session, who))
    missing = download(closed_session, closed_session.archivist, meeting_id=999999)
    assert (response.status_code, response.json()) == (missing.status_code, missing.json())
    assert response.json()["code"] == "not_found" and response.status_code == 404


def test_an_anonymous_caller_is_asked_to_authenticate(closed_session):
    response = download(closed_session, None)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_a_session_that_is_not_closed_answers_409_to_its_secretary_and_404_to_archivists(cast):
    cast.set_status(Meeting.Status.ADJOURNED)
    response = download(cast, cast.secretary)
    assert (response.status_code, response.json()["code"]) == (409, "meeting_not_closed")
    assert download(cast, cast.archivist).status_code == 404
    assert not AuditEntry.objects.filter(action="archive.exported").exists()


def test_the_zip_of_a_sealed_session_verifies_with_its_signatures(sealed_session, pki_roots, tmp_path):
    response = download(sealed_session.cast, sealed_session.cast.archivist)
    assert response.status_code == 200
    (tmp_path / "sealed.zip").write_bytes(body(response))
    report = verify_bag(tmp_path / "sealed.zip", trust_roots=pki_roots)
    assert report.ok, [str(p) for p in report.problems]
    signed = next(c for c in report.checks if c.name == "signatures").notes
    assert len(signed) == 3  # minutes, resolution, correction
