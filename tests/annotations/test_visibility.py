"""Who sees an annotation, over every persona (issue 17): the list, the live events and their replay
over HTTP, the room snapshot, the session record and the archive package all agree with one rule
written out here by hand — private: its author only; to the secretariat: the author and the
secretariat (and the archivist, who reads everything of a closed session); shared: the readers of
the document. Above all: nobody else ever gets a private annotation, anywhere."""

from __future__ import annotations

import contextlib
import json

import pytest

from ecabinet.errors import NotFound
from meetings import permissions, services
from meetings.models import Annotation, Event, Meeting
from meetings.room import dumps
from meetings.snapshot import snapshot
from records.archive.export import build_bag
from records.record import session_record_json

from .conftest import error, listing

DOCS = ("public_doc", "internal_doc", "restricted_doc")
# What each persona reads (docs/security.md), by hand; the archivist reads everything once closed.
READS = {"pm": {"public_doc", "internal_doc"}, "secretary": set(DOCS), "member": set(DOCS),
         "member2": {"public_doc", "internal_doc"}, "deputy": {"public_doc", "internal_doc"},
         "observer": {"public_doc"}, "archivist": set(), "outsider": set(), "admin": set()}
OFFICE = {"secretary"}
PERSONAS = tuple(READS)
WRITERS = (("member", DOCS), ("member2", ("internal_doc",)), ("secretary", ("restricted_doc",)),
           ("pm", ("public_doc", "internal_doc")))


def marker(who: str, doc: str, visibility: str) -> str:
    return f"ANN-{who}-{doc}-{visibility}-Ghi chú"


def _write_all(cast) -> dict[int, tuple[str, str, str]]:
    """Every writer annotates each of its documents with each visibility; id → (author, doc, visibility)."""
    made = {}
    for who, docs in WRITERS:
        for doc in docs:
            for visibility in ("private", "secretariat", "shared"):
                a = services.annotation_create(actor=getattr(cast, who), document_id=getattr(cast, doc).pk,
                                               kind="note", page=1, point=[0.5, 0.5], visibility=visibility,
                                               text=marker(who, doc, visibility), quote="Tờ trình")
                made[a.pk] = (who, doc, visibility)
    return made


def _expected(name: str, made: dict, closed: bool) -> set[int]:
    reads = set(DOCS) if (closed and name == "archivist") else READS[name]
    office = OFFICE | ({"archivist"} if closed else set())
    out = set()
    for pk, (author, doc, visibility) in made.items():
        if author == name or (visibility == "secretariat" and name in office and doc in reads) or (
                visibility == "shared" and doc in reads):
            out.add(pk)
    return out


def _listed(cast, name: str) -> set[int]:
    seen = set()
    for doc in DOCS:
        response = listing(cast, name, getattr(cast, doc))
        if response.status_code == 404:
            continue
        assert response.status_code == 200, (name, doc)
        body = response.json()
        assert body["unplaced"] == []
        seen |= {a["id"] for a in body["results"]}
        assert all(a["document"] == getattr(cast, doc).pk for a in body["results"])
    return seen


def _heard(cast, name: str) -> set[int] | None:
    """Annotation ids in the events this persona hears, as the replay API returns them (None if the
    persona may not open the session)."""
    response = cast.client(getattr(cast, name)).get(f"/api/v1/meetings/{cast.meeting.pk}/events/?after_seq=0")
    if response.status_code == 404:
        return None
    events = response.json().get("events")
    if events is None:  # replay not possible: a snapshot, which carries no annotations
        return set()
    return {e["data"]["annotation"]["id"] for e in events if e["kind"].startswith("annotation.")}


def _rule(name: str, cast, made: dict) -> set[int]:
    """The same question asked of meetings.permissions, annotation by annotation."""
    with contextlib.suppress(NotFound):
        access = permissions.meeting_access(getattr(cast, name), cast.meeting.pk)
        out = set()
        for a in Annotation.objects.filter(pk__in=list(made)).select_related("document"):
            recipients = permissions.document_recipient_ids(a.document)
            reads = permissions.may_read(access, a.document.classification, access.user.pk in recipients)
            if reads and permissions.hears(access, permissions.annotation_audience(a, recipients)):
                out.add(a.pk)
        by_query = set()
        for doc in DOCS:
            version = getattr(cast, doc).current_version
            version.document = getattr(cast, doc)
            by_query |= set(permissions.visible_annotations(access, version).values_list("pk", flat=True))
        assert by_query == out, name
        return out
    return set()


@pytest.fixture
def annotated(substitute):
    cast = substitute
    cast.set_status(Meeting.Status.IN_PROGRESS)
    return cast, _write_all(cast)


def test_every_persona_sees_and_hears_exactly_what_the_rule_says(annotated):
    cast, made = annotated
    for name in PERSONAS:
        expected = _expected(name, made, closed=False)
        assert _listed(cast, name) == expected, name
        assert _rule(name, cast, made) == expected, name
        heard = _heard(cast, name)
        assert heard == (None if name in ("archivist", "outsider", "admin") else expected), name


def test_no_snapshot_carries_an_annotation(annotated):
    cast, _made = annotated
    for name in PERSONAS:
        with contextlib.suppress(NotFound):
            text = dumps(snapshot(permissions.meeting_access(getattr(cast, name), cast.meeting.pk)))
            assert "ANN-" not in text, name


def test_a_private_annotation_reaches_nobody_else_in_any_form(annotated, tmp_path):
    """Private notes: list, events, snapshot (above) — and the record and the archive package after
    the close, where only the shared, live ones are kept."""
    cast, made = annotated
    private = {pk for pk, (_a, _d, visibility) in made.items() if visibility == "private"}
    for pk in private:
        a = Annotation.objects.get(pk=pk)
        assert Event.objects.filter(kind="annotation.created", data__annotation__id=pk).get().audience == [
            f"u{a.author_id}"]
    cast.set_status(Meeting.Status.CLOSED)
    for name in PERSONAS:
        expected = _expected(name, made, closed=True)
        assert _listed(cast, name) == expected, name
        assert _rule(name, cast, made) == expected, name
        if name not in (author for author, _docs in WRITERS):
            assert not expected & private, name
    record = session_record_json(cast.meeting).decode()
    assert "ANN-" not in record  # the record carries no annotations at all
    summary = build_bag(cast.meeting, tmp_path / "bag")
    lines = (summary.path / "data/annotations/shared.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["text"] for line in lines) == sorted(
        marker(who, doc, "shared") for who, docs in WRITERS for doc in docs)
    for path in summary.path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for pk in private | {pk for pk, v in made.items() if v[2] == "secretariat"}:
                assert marker(*made[pk]).encode() not in content, (path, made[pk])


def test_narrowing_a_shared_annotation_withdraws_it_from_those_who_lose_it(annotated):
    cast, made = annotated
    pk = next(pk for pk, v in made.items() if v == ("member", "internal_doc", "shared"))
    seq = cast.meeting.events.order_by("-seq").values_list("seq", flat=True).first()
    services.annotation_update(actor=cast.member, annotation_id=pk, visibility="private", text="Giờ là riêng")
    written = list(Event.objects.filter(meeting=cast.meeting, seq__gt=seq).order_by("seq"))
    assert [(e.kind, e.audience) for e in written] == [("annotation.deleted", ["internal"]),
                                                       ("annotation.updated", [f"u{cast.member.pk}"])]
    assert written[0].data == {"annotation": {"id": pk, "document": cast.internal_doc.pk, "version": 1}}
    assert "Giờ là riêng" not in json.dumps(written[0].data, ensure_ascii=False)
    assert pk not in _listed(cast, "member2") and pk in _listed(cast, "member")
    assert error(cast.client(cast.member2).patch(f"/api/v1/annotations/{pk}/", {"text": "x"}, format="json")) == (
        404, "not_found")
    # ... nor does member2's replay of the log hand out what was shared before (a security review's F5)
    replay = cast.client(cast.member2).get(f"/api/v1/meetings/{cast.meeting.pk}/events/?after_seq=0").json()
    about = [e for e in replay["events"] if e["kind"].startswith("annotation.") and e["data"]["annotation"]["id"] == pk]
    assert about and all(set(e["data"]["annotation"]) <= {"id", "document", "version", "withdrawn"} for e in about)
    assert marker(*made[pk]) not in json.dumps(replay, ensure_ascii=False)


def test_a_deleted_shared_annotation_is_withdrawn_from_the_replay(annotated):
    cast, made = annotated
    pk = next(pk for pk, v in made.items() if v == ("member", "internal_doc", "shared"))
    before = cast.client(cast.member2).get(f"/api/v1/meetings/{cast.meeting.pk}/events/?after_seq=0").json()
    assert marker(*made[pk]) in json.dumps(before, ensure_ascii=False)
    services.annotation_delete(actor=cast.member, annotation_id=pk)
    after = cast.client(cast.member2).get(f"/api/v1/meetings/{cast.meeting.pk}/events/?after_seq=0").json()
    assert marker(*made[pk]) not in json.dumps(after, ensure_ascii=False)
    assert [e["seq"] for e in after["events"]][: len(before["events"])] == [e["seq"] for e in before["events"]]


SHARING = {"pm", "secretary", "member", "member2", "deputy"}  # not the observer, not the archivist


@pytest.mark.parametrize("status", [Meeting.Status.DRAFT, Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS,
                                    Meeting.Status.ADJOURNED, Meeting.Status.CLOSED])
def test_the_visibilities_each_persona_may_give_in_each_state(substitute, status):
    """Private: whoever opens the session and reads a document, in every state. Shared and to the
    secretariat: those who may comment so, while the session is published, in progress or
    adjourned. The service refuses exactly what the rule leaves out."""
    cast = substitute
    cast.set_status(status)
    open_states = (Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS, Meeting.Status.ADJOURNED)
    for name in PERSONAS:
        try:
            access = permissions.meeting_access(getattr(cast, name), cast.meeting.pk)
        except NotFound:
            continue
        expected = ["private"] + (["shared", "secretariat"] if name in SHARING and status in open_states else [])
        assert permissions.annotation_visibilities(access) == expected, (name, status)
        for visibility in ("private", "shared", "secretariat"):
            response = cast.client(getattr(cast, name)).post(
                f"/api/v1/documents/{cast.public_doc.pk}/annotations/",
                {"kind": "note", "page": 1, "point": [0.5, 0.5], "visibility": visibility}, format="json")
            assert response.status_code == (201 if visibility in expected else 403), (name, status, visibility)
