"""Reads that several screens and the API share, each in a bounded number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

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


def participants(meeting) -> list[Participant]:
    return list(
        Participant.objects.filter(meeting=meeting)
        .select_related("user__ministry", "substitute_for")
        .order_by("id")
    )


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
