"""The in-app reader's own watermarked copy of a version (issue 17, contract C2).

A reader copy is issued ONCE per (user, version): the first read takes a numbered copy in the register
(``document_issue_copy``: receipt, register entry, audit), watermarks it and keeps the file in storage;
every later read, and every byte range PDF.js asks for, is served from that file. Watermarking takes
seconds on a large paper, so it never runs inside a transaction: the claim (a ``ReaderCopy`` row without
a file, unique per user and version) is written in a short transaction of its own, the copy is made with
no transaction open, and the file is recorded in another short one. Concurrent first reads of one user
(PDF.js opens a document with several requests at once; a minister may have it open on two tablets) find
the claim and wait for the file instead of issuing a second copy; a claim whose request died is taken
over after ``READER_COPY_CLAIM_SECONDS`` (a conditional update: only one taker wins).
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ecabinet.errors import Conflict

from .. import permissions
from ..models import DocumentCopy, DocumentVersion, ReaderCopy, ReadReceipt, reader_copy_path
from ..watermark import watermark_pdf
from .documents import document_issue_copy
from .guards import current_time, version_of

POLL_SECONDS = 0.1


def watermark_copy(copy: DocumentCopy) -> bytes:
    """The watermarked bytes of a copy in the register (the download and the reader make them alike).
    Slow (seconds on a large paper): call it with no transaction open."""
    version = copy.version
    user = copy.user
    with version.file.open("rb") as handle:
        original = handle.read()
    return watermark_pdf(
        original,
        full_name=user.get_full_name(),
        ministry=user.ministry.name if user.ministry_id else "",
        issued_utc=copy.issued_at.strftime("%Y-%m-%d %H:%M UTC"),
        copy_number=copy.number,
        font_path=settings.WATERMARK_FONT,
        document_label=f"{version.document.title} (v{version.number})",
    )


def _version(actor, document_id: int, version_number: int | None) -> DocumentVersion:
    _access, document = permissions.document_access(actor, document_id)  # 404 for whoever may not see it
    return version_of(document, version_number)


def _touch_receipt(version: DocumentVersion, actor) -> None:
    now = current_time()
    receipt, created = ReadReceipt.objects.get_or_create(
        version=version, user=actor, defaults={"first_opened_at": now, "last_opened_at": now})
    if not created:
        ReadReceipt.objects.filter(pk=receipt.pk).update(last_opened_at=now, open_count=F("open_count") + 1)


def _claim(version: DocumentVersion, actor, row: ReaderCopy | None) -> ReaderCopy | None:
    """The claim to make the copy, or None when another request holds a live one."""
    now = current_time()
    if row is None:
        try:
            with transaction.atomic():
                return ReaderCopy.objects.create(version=version, user=actor, claimed_at=now)
        except IntegrityError:
            return None  # another request claimed it a moment ago
    stale = now - timedelta(seconds=settings.READER_COPY_CLAIM_SECONDS)
    if row.claimed_at > stale:
        return None
    taken = ReaderCopy.objects.filter(pk=row.pk, file="", claimed_at=row.claimed_at).update(claimed_at=now)
    if not taken:
        return None
    row.claimed_at = now
    return row


def _make(row: ReaderCopy, actor, document_id: int, *, opening: bool) -> ReaderCopy | None:
    """Issue the register copy, watermark it (no transaction open), store it, record the file. None when
    the claim was taken over meanwhile (this request was thought dead) and the other request recorded its
    copy first: this one's file is removed, and the caller serves the recorded one."""
    try:
        copy = document_issue_copy(actor=actor, document_id=document_id, version_number=row.version.number,
                                   read=opening)
        data = watermark_copy(copy)
        storage = row.file.storage
        name = storage.save(reader_copy_path(row.version_id, actor.pk, copy.number), ContentFile(data))
    except BaseException:
        # Give the claim back so the next read tries again at once (the register keeps the number issued).
        ReaderCopy.objects.filter(pk=row.pk, file="", claimed_at=row.claimed_at).delete()
        raise
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        ours = ReaderCopy.objects.filter(pk=row.pk, file="", claimed_at=row.claimed_at).update(
            copy=copy, file=name, sha256=digest, size=len(data))
    if not ours:
        storage.delete(name)
        return None
    row.copy, row.file.name, row.sha256, row.size = copy, name, digest, len(data)
    return row


def document_reader_copy(*, actor, document_id: int, version_number: int | None,
                         opening: bool = False) -> ReaderCopy:
    """The caller's reader copy of a version (the current one by default), issued at the first read.
    ``opening``: this request opens the document (not a further byte range of it): the read receipt is
    touched, as a download touches it. Raises NotFound (404) for whoever may not see the document."""
    version = _version(actor, document_id, version_number)
    deadline = time.monotonic() + settings.READER_COPY_WAIT_SECONDS
    while True:
        row = ReaderCopy.objects.select_related("copy").filter(version=version, user=actor).first()
        if row is not None and row.file:
            if opening:
                _touch_receipt(version, actor)
            return row
        claimed = _claim(version, actor, row)
        if claimed is not None:
            made = _make(claimed, actor, document_id, opening=opening)  # the receipt when opening
            if made is not None:
                return made
            continue
        if time.monotonic() > deadline:
            raise Conflict(_("Your copy of this document is still being prepared; try again in a moment."),
                           code="copy_in_preparation", status=503)
        time.sleep(POLL_SECONDS)
