"""Reads that several screens and the API share, each in a bounded number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Exists, OuterRef, Prefetch, Subquery

from ecabinet import prepared

from .models import AgendaItem, Document, DocumentVersion, Participant, ReadReceipt
from .permissions import MeetingAccess, documents_visible_to


@dataclass
class ReadState:
    """What the caller has read of one document."""

    read_current: bool
    read_any: bool
    last_read_number: int | None = None

    @property
    def is_new(self) -> bool:
        """Never opened any version."""
        return not self.read_any

    @property
    def is_updated(self) -> bool:
        """Opened an earlier version, not the current one."""
        return self.read_any and not self.read_current


def agenda(access: MeetingAccess) -> list[AgendaItem]:
    """Agenda items with the documents this caller may see (``item.visible_documents``), each with
    ``current_version`` and ``read_state``, and the items' motions (``item.motion_list``, in the
    order they were put). Five queries whatever the size of the agenda."""
    documents = (
        Document.objects.filter(documents_visible_to(access))
        .select_related("current_version")
        .order_by("id")
    )
    items = list(
        AgendaItem.objects.filter(meeting=access.meeting)
        .select_related("presenter_ministry")
        .prefetch_related(Prefetch("documents", queryset=documents, to_attr="visible_documents"),
                          Prefetch("motions", to_attr="motion_list"))
        .order_by("position")
    )
    all_docs = [d for item in items for d in item.visible_documents]
    read = list(
        ReadReceipt.objects.filter(user=access.user, version__document__in=[d.pk for d in all_docs])
        .values_list("version__document_id", "version_id", "version__number")
    )
    last_read: dict[int, int] = {}
    for doc_id, _version_id, number in read:
        last_read[doc_id] = max(number, last_read.get(doc_id, 0))
    read_versions = {version_id for _, version_id, _number in read}
    for doc in all_docs:
        doc.read_state = ReadState(read_current=doc.current_version_id in read_versions,
                                   read_any=doc.pk in last_read, last_read_number=last_read.get(doc.pk))
    return items


# --- the agenda screen and the session API: plain rows, no model instances (issue 19) -------------------

ITEM_STATUS = dict(AgendaItem.Status.choices)
CLASSIFICATION = dict(Document.Classification.choices)


@dataclass(frozen=True)
class MinistryName:
    """What the screens show of a presenting ministry (the ``ministry_name`` filter reads both)."""

    name: str
    name_en: str


@dataclass(frozen=True)
class VersionRow:
    number: int
    sha256: str
    pages: int


@dataclass(frozen=True)
class MotionRow:
    pk: int
    title: str
    status: str


@dataclass
class DocumentRow:
    """One document of the agenda as its reader sees it (the fields of ``_document_row.html`` and of
    the session API's ``documents``)."""

    pk: int
    title: str
    classification: str
    current_version: VersionRow | None
    read_state: ReadState

    def get_classification_display(self) -> str:
        return CLASSIFICATION.get(self.classification, self.classification)


@dataclass
class ItemRow:
    """One agenda item with what its reader may see of it (``visible_documents``) and its motions."""

    pk: int
    position: int
    title: str
    description: str
    status: str
    planned_minutes: int | None
    presenter_ministry: MinistryName | None
    visible_documents: list[DocumentRow] = field(default_factory=list)
    motion_list: list[MotionRow] = field(default_factory=list)

    def get_status_display(self) -> str:
        return ITEM_STATUS.get(self.status, self.status)


# The agenda's three queries are prepared once per process for each shape of reader (issue 19), and sent
# as one statement (``_agenda_statement``):
# building them (the documents' filter, its read marks) costs Django more CPU than SQLite takes to
# answer. Each is built by the very code below with sentinels in place of the session's id and the
# reader's; a request only puts its own values in their place. The documents' filter
# (``documents_visible_to``) reads ``sees_all_documents``, ``role`` and ``user`` of the access: the
# first two are the shape, the user's id is a sentinel (``ecabinet.prepared``).
_MEETING, _USER = -730_194_700_001, -730_194_700_002


def _prepared_sql(key: tuple, build) -> tuple[str, str, tuple]:
    return prepared.prepare(("meetings.agenda", *key), lambda: build(_MEETING, _USER))


def _items_query(meeting_id, _user_id):
    return AgendaItem.objects.filter(meeting_id=meeting_id).order_by("position").values_list(
        "pk", "position", "title", "description", "status", "planned_minutes", "presenter_ministry__name",
        "presenter_ministry__name_en")


def _documents_query(access: MeetingAccess):
    reader = SimpleNamespace(sees_all_documents=access.sees_all_documents, role=access.role)

    def build(meeting_id, user_id):
        probe = get_user_model()(pk=user_id)
        probe._state.adding = False
        mine = ReadReceipt.objects.filter(user_id=user_id)
        return (
            Document.objects.filter(documents_visible_to(SimpleNamespace(**vars(reader), user=probe)),
                                    agenda_item__meeting_id=meeting_id)
            .annotate(read_current=Exists(mine.filter(version_id=OuterRef("current_version_id"))),
                      last_read=Subquery(mine.filter(version__document_id=OuterRef("pk"))
                                         .order_by("-version__number").values("version__number")[:1]))
            .order_by("id")
            .values_list("pk", "agenda_item_id", "title", "classification", "current_version_id",
                         "current_version__number", "current_version__sha256", "current_version__pages",
                         "read_current", "last_read")
        )
    return ("documents", reader.sees_all_documents, reader.role), build


def _motions_query(meeting_id, _user_id):
    motions = AgendaItem._meta.get_field("motions").related_model.objects  # voting.Motion, read-only here
    return (motions.filter(agenda_item__meeting_id=meeting_id).order_by("id")
            .values_list("pk", "agenda_item_id", "title", "status"))


# The three reads are sent as one statement (issue 19: a statement costs the page its round trip and
# Django's cursor work): each query as compiled above, wrapped as a subquery, its columns set in the
# slots of one row shape (``_SLOTS``), the others NULL, and the rows ordered by kind, then as each
# query orders its own. Which columns each kind fills, by the aliases its ``values_list`` gives them:
_ITEM, _DOCUMENT, _MOTION = 0, 1, 2
_SLOTS = ("sort", "pk", "agenda_item_id", "title", "description", "status", "planned_minutes",
          "presenter_ministry__name", "presenter_ministry__name_en", "classification", "current_version_id",
          "current_version__number", "current_version__sha256", "current_version__pages", "read_current",
          "last_read")
_SORTED_BY = {_ITEM: "position", _DOCUMENT: "pk", _MOTION: "pk"}
_agenda_sql: dict[tuple, tuple[str, str, tuple]] = {}


def _agenda_statement(access: MeetingAccess) -> tuple[str, str, tuple]:
    """``(alias, sql, params)`` of the agenda's one statement for this shape of reader, built once."""
    documents_key, documents_build = _documents_query(access)
    key = ("agenda", *documents_key[1:])
    found = _agenda_sql.get(key)
    if found is None:
        parts, params, alias = [], [], None
        queries = ((_ITEM, ("items",), _items_query), (_DOCUMENT, documents_key, documents_build),
                   (_MOTION, ("motions",), _motions_query))
        for kind, query_key, build in queries:
            alias, sql, query_params = _prepared_sql(query_key, build)
            queryset = build(_MEETING, _USER)
            columns = set(queryset.query.values_select) | set(queryset.query.annotation_select)
            columns |= {"pk"}
            quote = connections[alias].ops.quote_name
            slots = [f"q.{quote(_SORTED_BY[kind])}" if slot == "sort" else
                     f"q.{quote(slot)}" if slot in columns else "NULL" for slot in _SLOTS]
            parts.append(f"SELECT {kind} AS kind, {', '.join(slots)} FROM ({sql}) q")  # noqa: S608 — Django's compiled SQL, values bound
            params.extend(query_params)
        found = _agenda_sql[key] = (alias, " UNION ALL ".join(parts) + " ORDER BY 1, 2", tuple(params))
    return found


def agenda_statement(access: MeetingAccess) -> tuple[str, str, list]:
    """``agenda_rows``' one statement for this reader as (database alias, SQL, parameters), for a
    caller that sends it within a statement of its own (the session page's header,
    ``followup_tags.header_counts``); its rows go to ``agenda_of_rows``."""
    alias, sql, params = _agenda_statement(access)
    return alias, sql, prepared.fill(params, {_MEETING: access.meeting.pk, _USER: access.user.pk})


def agenda_rows(access: MeetingAccess) -> list[ItemRow]:
    """``agenda`` as plain rows, for the pages that only show it (the agenda screen, the session API):
    the same items, documents (``documents_visible_to``), read marks and motions, in one statement
    whatever the size of the agenda — the caller's read marks are worked out inside the documents'
    query — and without building a model instance per row (the statement prepared once per shape of
    reader: ``_agenda_statement``)."""
    alias, sql, params = agenda_statement(access)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return agenda_of_rows(cursor.fetchall())


def agenda_of_rows(rows) -> list[ItemRow]:
    """``agenda_statement``'s rows, in its order, as ``agenda_rows`` gives them."""
    items: dict[int, ItemRow] = {}
    for (kind, sort, pk, item_id, title, description, status, minutes, ministry, ministry_en, classification,
         version_id, number, sha256, pages, read_current, last_read) in rows:
        if kind == _ITEM:
            items[pk] = ItemRow(
                pk=pk, position=sort, title=title, description=description, status=status, planned_minutes=minutes,
                presenter_ministry=None if ministry is None else MinistryName(ministry, ministry_en or ""))
        elif kind == _DOCUMENT:
            version = None if version_id is None else VersionRow(number=number, sha256=sha256, pages=pages)
            items[item_id].visible_documents.append(DocumentRow(
                pk=pk, title=title, classification=classification, current_version=version,
                read_state=ReadState(read_current=bool(read_current), read_any=last_read is not None,
                                     last_read_number=last_read)))
        else:
            items[item_id].motion_list.append(MotionRow(pk=pk, title=title, status=status))
    return list(items.values())


class PageAgenda:
    """The agenda screen's agenda (``agenda_rows``), read within the page header's statement: the view
    names it in the context as ``session_agenda``, the header's tag (``followup_tags.header_counts``)
    sends ``statement()`` inside its own and hands the rows to ``take``; what the page shows of the
    agenda is asked of ``rows()`` as it renders, after the header. Should the header not have read it
    (another database), ``rows()`` reads it alone, as before."""

    columns = 1 + len(_SLOTS)  # the statement's: its kind, then the slots

    def __init__(self, access: MeetingAccess):
        self.access = access
        self._rows: list[ItemRow] | None = None

    def statement(self) -> tuple[str, str, list] | None:
        """The statement to fold in, or None once the rows are known."""
        return None if self._rows is not None else agenda_statement(self.access)

    def take(self, rows) -> None:
        self._rows = agenda_of_rows(rows)

    def rows(self) -> list[ItemRow]:
        if self._rows is None:
            self._rows = agenda_rows(self.access)
        return self._rows


def participants(meeting) -> list[Participant]:
    return list(
        Participant.objects.filter(meeting=meeting)
        .select_related("user__ministry", "substitute_for")
        .order_by("id")
    )


def participant_dicts(meeting) -> list[dict]:
    """``participants`` shaped as the session API's ``participants`` (``ParticipantSerializer``), in
    one query and without a model instance per person."""
    substitute = Participant.Role.SUBSTITUTE
    rows = (Participant.objects.filter(meeting=meeting).order_by("id")
            .values_list("user__username", "user__full_name", "user__ministry__name", "role", "attendance",
                         "absence_reason", "substitute_for__username", "substitute_approved_at"))
    return [{"username": username, "full_name": full_name, "ministry": ministry, "role": role,
             "attendance": attendance, "absence_reason": reason, "substitute_for": stands_for,
             "approved": role != substitute or approved_at is not None}
            for username, full_name, ministry, role, attendance, reason, stands_for, approved_at in rows]


def read_receipt_table(meeting) -> tuple[list[Document], list[Participant], dict]:
    """For the secretariat: every document × every participant → the newest version they opened
    (or None). Three queries."""
    documents = list(
        Document.objects.filter(agenda_item__meeting=meeting)
        .select_related("current_version", "agenda_item").order_by("agenda_item__position", "id")
    )
    people = [p for p in participants(meeting) if p.role != Participant.Role.SECRETARY]
    opened: dict[tuple[int, int], DocumentVersion] = {}
    receipts = (ReadReceipt.objects.filter(version__document__agenda_item__meeting=meeting)
                .select_related("version").order_by("version__number"))
    for receipt in receipts:
        opened[(receipt.version.document_id, receipt.user_id)] = receipt
    return documents, people, opened
