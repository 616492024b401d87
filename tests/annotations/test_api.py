"""Annotations through API v1 (issue 17, contract C4): who may annotate which document in which
state of the session, who may change or delete one, tombstones, Idempotency-Key, the rate, and the
bounds of every field, each refusal with its code and nothing stored."""

from __future__ import annotations

import pytest

from meetings.models import Annotation, Meeting

from .conftest import annotate, annotation_path, error, listing

DOCS = ("public_doc", "internal_doc", "restricted_doc")
# What each persona reads of the cast's papers in a published session (docs/security.md).
READS = {"pm": {"public_doc", "internal_doc"}, "secretary": set(DOCS), "member": set(DOCS),
         "member2": {"public_doc", "internal_doc"}, "observer": {"public_doc"}, "archivist": set(),
         "outsider": set(), "admin": set()}


def _patch(cast, who: str, annotation_id: int, headers=None, **payload):
    return cast.client(getattr(cast, who)).patch(annotation_path(annotation_id), payload, format="json",
                                                 headers=headers or {})


def _delete(cast, who: str, annotation_id: int, headers=None):
    return cast.client(getattr(cast, who)).delete(annotation_path(annotation_id), headers=headers or {})


def test_every_persona_annotates_exactly_the_documents_it_reads(room):
    for who, reads in READS.items():
        for name in DOCS:
            document = getattr(room, name)
            response = annotate(room, who, document=document, visibility="private", text=f"{who} {name}")
            if name in reads:
                assert response.status_code == 201, (who, name, response.json())
                body = response.json()
                assert (body["document"], body["version"], body["visibility"], body["mine"], body["author"]["id"]) \
                    == (document.pk, 1, "private", True, getattr(room, who).pk)
                assert listing(room, who, document).status_code == 200
            else:
                assert error(response) == (404, "not_found"), (who, name)
                assert error(listing(room, who, document)) == (404, "not_found"), (who, name)
    assert Annotation.objects.count() == sum(len(r) for r in READS.values())


def test_observers_and_archivists_keep_private_annotations_only(room):
    assert annotate(room, "observer", document=room.public_doc, visibility="private").status_code == 201
    for visibility in ("shared", "secretariat"):
        assert error(annotate(room, "observer", document=room.public_doc, visibility=visibility)) == (
            403, "visibility_not_allowed")
    for who in ("pm", "secretary", "member", "member2"):
        for visibility in ("shared", "secretariat"):
            assert annotate(room, who, visibility=visibility).status_code == 201, (who, visibility)
    room.set_status(Meeting.Status.CLOSED)
    assert annotate(room, "archivist", visibility="private").status_code == 201
    assert error(annotate(room, "archivist", visibility="shared")) == (403, "visibility_not_allowed")


def test_a_closed_session_keeps_private_notes_open_and_freezes_the_shared_ones(room):
    shared = annotate(room, "member", visibility="shared").json()
    private = annotate(room, "member", visibility="private").json()
    room.set_status(Meeting.Status.CLOSED)
    assert annotate(room, "member", visibility="private").status_code == 201
    assert error(annotate(room, "member", visibility="shared")) == (403, "visibility_not_allowed")
    assert _patch(room, "member", private["id"], text="Đọc lại sau phiên họp").status_code == 200
    assert error(_patch(room, "member", private["id"], visibility="shared")) == (403, "visibility_not_allowed")
    before = Annotation.objects.get(pk=shared["id"])
    assert error(_patch(room, "member", shared["id"], text="Sửa")) == (403, "visibility_not_allowed")
    assert error(_patch(room, "member", shared["id"], visibility="private")) == (403, "visibility_not_allowed")
    assert error(_delete(room, "member", shared["id"])) == (403, "visibility_not_allowed")
    after = Annotation.objects.get(pk=shared["id"])
    assert (after.text, after.visibility, after.deleted_at, after.updated_at) == (
        before.text, before.visibility, None, before.updated_at)
    assert _delete(room, "member", private["id"]).status_code == 204


def test_a_draft_is_annotated_privately_by_those_who_see_it(cast):
    assert annotate(cast, "secretary", visibility="private").status_code == 201
    assert annotate(cast, "pm", visibility="private").status_code == 201
    assert error(annotate(cast, "secretary", visibility="shared")) == (403, "visibility_not_allowed")
    assert error(annotate(cast, "member", visibility="private")) == (404, "not_found")


def test_only_the_author_changes_or_deletes_and_others_see_404_for_what_they_may_not_see(room):
    private = annotate(room, "member", visibility="private").json()["id"]
    shared = annotate(room, "member", visibility="shared").json()["id"]
    secret_doc = annotate(room, "member", document=room.restricted_doc, visibility="shared").json()["id"]
    office = annotate(room, "member", visibility="secretariat").json()["id"]
    for who in ("pm", "member2", "observer", "outsider", "archivist", "admin", "secretary"):
        assert error(_patch(room, who, private, text="x")) == (404, "not_found"), who
        assert error(_delete(room, who, private)) == (404, "not_found"), who
    for who in ("pm", "member2", "secretary"):
        assert error(_patch(room, who, shared, text="x")) == (403, "not_author"), who
        assert error(_delete(room, who, shared)) == (403, "not_author"), who
    for who in ("observer", "outsider"):  # the observer does not read internal papers
        assert error(_patch(room, who, shared, text="x")) == (404, "not_found"), who
    assert error(_patch(room, "member2", secret_doc, text="x")) == (404, "not_found")  # not a recipient
    assert error(_patch(room, "secretary", secret_doc, text="x")) == (403, "not_author")
    assert error(_patch(room, "member2", office, text="x")) == (404, "not_found")
    assert error(_patch(room, "secretary", office, text="x")) == (403, "not_author")
    assert error(_patch(room, "member", 987654, text="x")) == (404, "not_found")
    assert Annotation.objects.filter(text="x").count() == 0
    response = _patch(room, "member", shared, text="Điều 1 cần sửa", color="pink", rects=[[0, 0, 1, 0.5]])
    assert response.status_code == 200
    body = response.json()
    assert (body["text"], body["color"], body["rects"], body["mine"]) == ("Điều 1 cần sửa", "pink", [[0, 0, 1, 0.5]],
                                                                         True)
    assert body["updated_at"] > body["created_at"]


def test_a_deletion_leaves_a_tombstone_that_no_one_lists_or_changes(room):
    created = annotate(room, "member", visibility="shared", text="Sẽ xoá").json()
    assert _delete(room, "member", created["id"]).status_code == 204
    row = Annotation.objects.get(pk=created["id"])
    assert row.deleted_at is not None and row.text == "Sẽ xoá"  # kept, not shown
    for who in ("member", "member2", "secretary"):
        assert listing(room, who).json()["results"] == [], who
    assert error(_patch(room, "member", created["id"], text="Lại")) == (409, "annotation_deleted")
    assert error(_delete(room, "member", created["id"])) == (409, "annotation_deleted")
    assert error(_patch(room, "member2", created["id"], text="Lại")) == (404, "not_found")


def test_the_list_is_mine_and_the_shared_ones_by_page_with_unplaced_apart(room):
    mine = [annotate(room, "member", visibility=v, page=1).json()["id"] for v in ("private", "secretariat", "shared")]
    theirs = [annotate(room, "member2", visibility=v).json()["id"] for v in ("private", "secretariat", "shared")]
    body = listing(room, "member").json()
    assert body["version"] == 1 and body["unplaced"] == []
    assert [(a["id"], a["mine"]) for a in body["results"]] == [*((pk, True) for pk in mine), (theirs[2], False)]
    office = listing(room, "secretary").json()["results"]
    assert [a["id"] for a in office] == [mine[1], mine[2], theirs[1], theirs[2]]
    assert error(listing(room, "member", version="x")) == (400, "invalid_version")
    assert error(listing(room, "member", version=0)) == (400, "invalid_version")
    assert error(listing(room, "member", version=2)) == (404, "not_found")
    assert listing(room, "member", version=1).json() == body


def test_an_idempotency_key_applies_each_write_once(room):
    key = {"Idempotency-Key": "a7c1e4a0-annotation-1"}
    first = annotate(room, "member", headers=key, text="Một lần")
    again = annotate(room, "member", headers=key, text="Một lần")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert Annotation.objects.count() == 1
    assert error(annotate(room, "member", headers=key, text="Khác")) == (422, "idempotency_key_reused")
    pk = first.json()["id"]
    patch_key = {"Idempotency-Key": "a7c1e4a0-annotation-2"}
    changed = _patch(room, "member", pk, headers=patch_key, text="Sửa một lần")
    assert _patch(room, "member", pk, headers=patch_key, text="Sửa một lần").json() == changed.json()
    delete_key = {"Idempotency-Key": "a7c1e4a0-annotation-3"}
    assert _delete(room, "member", pk, headers=delete_key).status_code == 204
    replay = _delete(room, "member", pk, headers=delete_key)
    assert (replay.status_code, replay.content, replay.headers["Idempotent-Replayed"]) == (204, b"", "true")


def test_writes_count_against_the_annotation_rate(room, settings):
    settings.RATE_ANNOTATIONS_PER_MINUTE = 2
    pk = annotate(room, "member").json()["id"]
    assert _patch(room, "member", pk, text="Một").status_code == 200
    response = _delete(room, "member", pk)
    assert error(response) == (429, "rate_limited") and int(response.headers["Retry-After"]) >= 1
    assert Annotation.objects.get(pk=pk).deleted_at is None
    assert listing(room, "member").status_code == 200  # reading is not counted


def test_a_drawing_of_the_most_points_passes_the_json_bound_of_this_endpoint_only(room, settings):
    strokes = [[[0.001 * (i % 1000), 0.5] for i in range(100)] for _ in range(50)]  # 5,000 points
    response = annotate(room, "member", kind="ink", rects=None, ink=strokes, quote="")
    assert response.status_code == 201, response.json()
    assert sum(len(s) for s in response.json()["ink"]) == 5000
    strokes[0].append([0.5, 0.5])
    assert error(annotate(room, "member", kind="ink", rects=None, ink=strokes)) == (400, "too_many_points")
    settings.ANNOTATION_JSON_MAX_ITEMS = 1000
    assert error(annotate(room, "member", kind="ink", rects=None, ink=strokes)) == (400, "json_too_many_fields")
    many = {"text": "x", "page": None, "visibility": "shared", "extra": list(range(2000))}
    response = room.client(room.member).post(f"/api/v1/agenda-items/{room.item.pk}/comments/", many, format="json")
    assert error(response) == (400, "json_too_many_fields")  # every other endpoint keeps JSON_MAX_ITEMS


LINE = [[0.1, 0.1], [0.2, 0.2]]


@pytest.mark.parametrize(("payload", "code"), [
    ({"kind": "circle"}, "invalid"),
    ({"visibility": "public"}, "invalid"),
    ({"color": "red"}, "invalid"),
    ({"page": 0}, "invalid"),
    ({"page": 2}, "invalid_page"),
    ({"version": 3}, "not_found"),
    ({"rects": []}, "rects_required"),
    ({"rects": None}, "rects_required"),
    ({"rects": "0,0,1,1"}, "invalid_rects"),
    ({"rects": [[0.1, 0.2, 0.3]]}, "invalid_rects"),
    ({"rects": [[0.1, 0.2, 0.3, 0.01]] * 201}, "too_many_rects"),
    ({"rects": [[0.1, 0.2, 1.5, 0.01]]}, "invalid_coordinates"),
    ({"rects": [[0.6, 0.2, 0.5, 0.01]]}, "invalid_coordinates"),
    ({"rects": [[-0.1, 0.2, 0.5, 0.01]]}, "invalid_coordinates"),
    ({"rects": [["0.1", 0.2, 0.5, 0.01]]}, "invalid_coordinates"),
    ({"rects": [[True, 0.2, 0.5, 0.01]]}, "invalid_coordinates"),
    ({"rects": [[0.1, 0.2, 0.5, 0.01]], "ink": [LINE]}, "shape_not_for_kind"),
    ({"rects": [[0.1, 0.2, 0.5, 0.01]], "point": [0.1, 0.1]}, "shape_not_for_kind"),
    ({"kind": "ink", "rects": None}, "ink_required"),
    ({"kind": "ink", "rects": None, "ink": [LINE, []]}, "invalid_ink"),
    ({"kind": "ink", "rects": None, "ink": [[[0.1]]]}, "invalid_coordinates"),
    ({"kind": "ink", "rects": None, "ink": [LINE] * 51}, "too_many_strokes"),
    ({"kind": "note", "rects": None}, "point_required"),
    ({"kind": "note", "rects": None, "point": [0.5, 2]}, "invalid_coordinates"),
    ({"kind": "note", "rects": None, "point": [0.5, 0.5, 0.5]}, "invalid_coordinates"),
    ({"quote": "a" * 1001}, "quote_too_long"),
    ({"text": "a" * 4001}, "text_too_long"),
    ({"text": "bell \x07"}, "invalid_characters"),
    ({"text": 12}, "invalid"),
])
def test_each_bad_input_is_refused_with_its_code_and_nothing_is_stored(room, payload, code):
    response = annotate(room, "member", **payload)
    assert error(response) == (400 if code != "not_found" else 404, code), response.json()
    assert response.json()["detail"]
    assert Annotation.objects.count() == 0


def test_a_bad_change_leaves_the_annotation_as_it_was(room):
    created = annotate(room, "member", visibility="shared", text="Ban đầu").json()
    before = Annotation.objects.filter(pk=created["id"]).values().get()
    for payload, code in (({"rects": [[2, 0, 0, 0]]}, "invalid_coordinates"), ({"ink": [LINE]}, "shape_not_for_kind"),
                          ({"text": "a" * 4001, "color": "green"}, "text_too_long"), ({"color": "red"}, "invalid")):
        assert error(_patch(room, "member", created["id"], **payload)) == (400, code)
    assert Annotation.objects.filter(pk=created["id"]).values().get() == before


def test_a_person_keeps_at_most_the_bound_of_live_annotations_on_a_version(room, settings):
    settings.ANNOTATION_MAX_PER_USER_VERSION = 2
    first = annotate(room, "member").json()["id"]
    assert annotate(room, "member").status_code == 201
    assert error(annotate(room, "member")) == (409, "too_many_annotations")
    assert annotate(room, "member2").status_code == 201  # per person
    assert annotate(room, "member", document=room.public_doc).status_code == 201  # per version
    assert _delete(room, "member", first).status_code == 204  # a tombstone does not count
    assert annotate(room, "member").status_code == 201


def test_a_person_s_annotations_on_a_version_stay_within_their_weight(room, settings):
    """The list of a version is not paged: what one person makes every reader fetch is bounded by
    the weight of their annotations (2 per point, 4 per rectangle, 1 per character of text and quote),
    on creation and on a change that grows one."""
    settings.ANNOTATION_MAX_WEIGHT_PER_USER_VERSION = 40
    note = annotate(room, "member", kind="note", rects=None, point=[0.5, 0.5], quote="Tờ trình", text="x" * 10)
    assert note.status_code == 201  # 2 + 8 + 10 = 20
    drawing = annotate(room, "member", kind="ink", rects=None, ink=[[[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]])
    assert drawing.status_code == 201  # 6 + 8 = 14: 34 in all
    before = list(Annotation.objects.order_by("pk").values())
    too_big = annotate(room, "member", kind="note", rects=None, point=[0.5, 0.5], quote="", text="y" * 5)
    assert error(too_big) == (409, "annotations_too_large")  # 34 + 7 > 40
    assert error(_patch(room, "member", note.json()["id"], text="z" * 17)) == (409, "annotations_too_large")
    assert list(Annotation.objects.order_by("pk").values()) == before
    assert _patch(room, "member", note.json()["id"], text="z" * 16).status_code == 200  # exactly 40
    assert _patch(room, "member", note.json()["id"], text="ok").status_code == 200  # shrinking is fine
    other = annotate(room, "member2", kind="note", rects=None, point=[0.5, 0.5], quote="", text="y" * 30)
    assert other.status_code == 201  # per person


def test_a_change_names_only_the_fields_that_can_change(room):
    created = annotate(room, "member").json()
    before = Annotation.objects.filter(pk=created["id"]).values().get()
    for payload in ({"page": 2}, {"author": 1}, {"document": created["document"]}, {"kind": "note"}):
        response = _patch(room, "member", created["id"], **payload)
        assert error(response) == (400, "not_editable"), payload
    assert Annotation.objects.filter(pk=created["id"]).values().get() == before


def test_the_schema_documents_the_annotation_endpoints(room):
    schema = room.client(room.member).get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    listing_path = next(p for p in paths if p.endswith("/documents/{id}/annotations/"))
    one = next(p for p in paths if p.endswith("/annotations/{id}/"))
    assert {"get", "post"} <= set(paths[listing_path]) and {"patch", "delete"} <= set(paths[one])
    fields = schema["components"]["schemas"]["AnnotationOut"]["properties"]
    assert {"id", "document", "version", "page", "kind", "visibility", "color", "rects", "ink", "point", "quote",
            "text", "author", "mine", "created_at", "updated_at", "placement", "carried_from"} <= set(fields)



def test_refusals_are_in_vietnamese_by_default(room, settings):
    from ..test_screens_i18n import _compiled_messages

    _compiled_messages.__wrapped__()  # the .mo files are build products: compiled when missing
    settings.LANGUAGE_CODE = "vi"
    strokes = [[[0.5, 0.5]] * 101] * 50
    assert annotate(room, "member", kind="ink", rects=None, ink=strokes).json() == {
        "code": "too_many_points", "detail": "Một hình vẽ có tối đa 5000 điểm."}
    assert annotate(room, "observer", document=room.public_doc, visibility="shared").json() == {
        "code": "visibility_not_allowed", "detail": "Bạn chỉ được tạo chú thích riêng."}
    settings.RATE_ANNOTATIONS_PER_MINUTE = 1
    response = annotate(room, "member")
    assert response.status_code == 429 and "quá nhiều chú thích" in response.json()["detail"]


def test_an_annotation_at_every_limit_fits_its_computed_frame_bound(room):
    from meetings import framesize
    from meetings.events import serialise
    from meetings.models import Event

    strokes = [[[0.123456, 0.654321]] * 100 for _ in range(50)]
    response = annotate(room, "member", kind="ink", rects=None, ink=strokes, visibility="shared",
                        text="𝔸" * 4000, quote="𝔹" * 1000)
    assert response.status_code == 201, response.json()
    event = Event.objects.filter(kind="annotation.created").get()
    size = len(serialise(event).encode())
    assert 100_000 < size <= framesize.worst_case_event_bytes()["annotation.created"]


def test_the_list_costs_the_same_few_queries_however_many_annotations(room):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(expected: int) -> int:
        with CaptureQueriesContext(connection) as context:
            body = room.client(room.member).get(f"/api/v1/documents/{room.internal_doc.pk}/annotations/").json()
        assert len(body["results"]) == expected
        return len(context.captured_queries)

    for n in range(3):
        annotate(room, "member2", visibility="shared", text=f"Ý kiến {n}")
    few = queries(3)
    for n in range(40):
        annotate(room, "member2" if n % 2 else "member", visibility="shared", text=f"Thêm {n}")
    assert queries(43) == few <= 12
