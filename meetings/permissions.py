"""Who may see and do what in a session: the one place that answers it — reading, the audiences of
live events, the room's capabilities (issue 16). What may be done with the minutes and the archive
package after the session is asked of ``records.permissions``, built on this module.

Rules (issue #2, DESIGN.md §2):

* Access to a session is a guardian object permission on the session (``view_meeting``), granted
  by the services when a person is invited and revoked when they are removed; ``manage_meeting``
  goes to the session's secretaries and ``chair_meeting`` to its chair. There are no model-wide
  grants.
* A draft session is seen only by its secretaries and its chair; the other participants see it
  from publication on.
* Archivists read closed sessions (all of their documents) and nothing else.
* The administrator (``is_superuser``) has no access by virtue of that flag. This is why this module
  never calls ``user.has_perm()``: Django answers True to every question for an active superuser.
* Documents: ``public`` ones are seen by everyone who sees the session; ``internal`` ones by the
  chair, members, substitutes and secretaries (not observers); ``restricted`` ones only by their
  named recipients (``view_document`` on the document) and the session's secretariat.
* Annotations on documents (issue 17) follow the comments' rule: ``annotation_audience``,
  ``annotation_visibilities``, ``visible_annotations``. Longer than 400 lines because this module is
  the one home of every such rule (DESIGN.md): splitting it would make two.
* Whoever may not see a thing gets the same ``NotFound`` as for a thing that does not exist.
* Who *hears* of a change (the audiences of live events, ``ecabinet.realtime``) follows the same
  rules: ``audience_tokens(access)`` are the tokens a person holds, and ``document_audience``,
  ``comment_audience`` and ``position_audience`` address each event; ``tests/test_permissions_agree.py``
  holds what each role hears equal to what it may read, substitutes included.
* Offline copies on a tablet (issue 17, docs/offline.md): ``offline_refusal`` says whether a person
  may keep a session on their tablet now, ``may_keep_document_offline`` / ``offline_documents``
  which of its documents (never a restricted one unless the secretariat allowed it).

Over 400 lines ("400 lines"): the offline rule (issue 17) sits here beside the reading rule it is
built on, as the one home of "who may see what"; splitting it out would make a second home.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from ecabinet import realtime
from ecabinet.errors import Forbidden, NotFound
from voting.permissions import may_vote_in

from . import access as access_reads
from .events import ALL, INTERNAL, SECRETARIAT
from .events import CHAIR as CHAIR_HEARS
from .models import (
    Annotation,
    Comment,
    Document,
    DocumentUserObjectPermission,
    Meeting,
    MeetingUserObjectPermission,
    Participant,
)

VIEW, MANAGE, CHAIR = "view_meeting", "manage_meeting", "chair_meeting"
# The grants the rules below ask about (``MeetingAccess.perms`` holds only these: ``ROLE_GRANTS``' codenames).
RULE_CODENAMES = (VIEW, MANAGE, CHAIR)
ROLE_GRANTS = {
    Participant.Role.CHAIR: (VIEW, CHAIR),
    Participant.Role.SECRETARY: (VIEW, MANAGE),
    Participant.Role.MEMBER: (VIEW,),
    Participant.Role.SUBSTITUTE: (VIEW,),
    Participant.Role.OBSERVER: (VIEW,),
}
# The roles that read internal papers and hear of them (not observers): the one list of them.
INTERNAL_READERS = frozenset({Participant.Role.CHAIR, Participant.Role.MEMBER, Participant.Role.SUBSTITUTE,
                              Participant.Role.SECRETARY})
# Who asks for the floor (everyone but the secretariat), and who marks a position on an item.
SPEAKERS = frozenset({Participant.Role.CHAIR, Participant.Role.MEMBER, Participant.Role.SUBSTITUTE,
                      Participant.Role.OBSERVER})
POSITION_HOLDERS = frozenset({Participant.Role.CHAIR, Participant.Role.MEMBER, Participant.Role.SUBSTITUTE})
# Whom a substitute may attend for: a member of the session or its chair.
STOOD_IN_FOR = frozenset({Participant.Role.CHAIR, Participant.Role.MEMBER})


def _grant(user, codename: str):
    return MeetingUserObjectPermission.objects.filter(
        user=user, permission__codename=codename, content_object=OuterRef("pk")
    )


def meetings_visible_to(user) -> QuerySet[Meeting]:
    """Sessions the user may open, as one query."""
    if not user.is_authenticated or not user.is_active:
        return Meeting.objects.none()
    granted = Exists(_grant(user, VIEW)) & (
        ~Q(status=Meeting.Status.DRAFT) | Exists(_grant(user, MANAGE)) | Exists(_grant(user, CHAIR))
    )
    if user.is_archivist:
        granted |= Q(status=Meeting.Status.CLOSED)
    return Meeting.objects.filter(granted)


def meetings_managed_by(user) -> QuerySet[Meeting]:
    """Sessions whose secretariat the user is (``can_manage``), as one query."""
    if not user.is_authenticated or not user.is_active:
        return Meeting.objects.none()
    return Meeting.objects.filter(Exists(_grant(user, MANAGE)))


@dataclass(frozen=True)
class MeetingAccess:
    """What one user may do in one session, worked out once per request."""

    user: object
    meeting: Meeting
    perms: frozenset[str]
    participant: Participant | None
    # The session's chair when the look-up by id read it with the caller's row (``chair_known``), for
    # the pages that show the chair (``meetings.views.sessions.chair_of``); not part of the access.
    chair: Participant | None = field(default=None, compare=False, repr=False)
    chair_known: bool = field(default=False, compare=False, repr=False)

    @property
    def role(self) -> str | None:
        return self.participant.role if self.participant else None

    @property
    def is_archivist_reader(self) -> bool:
        return bool(self.user.is_archivist and self.meeting.status == Meeting.Status.CLOSED)

    @property
    def can_view(self) -> bool:
        if self.is_archivist_reader:
            return True
        if VIEW not in self.perms:
            return False
        return self.meeting.status != Meeting.Status.DRAFT or bool({MANAGE, CHAIR} & self.perms)

    @property
    def can_manage(self) -> bool:
        """Prepare the session: agenda, documents, participants, read receipts."""
        return MANAGE in self.perms

    @property
    def can_chair(self) -> bool:
        return CHAIR in self.perms

    @property
    def can_run(self) -> bool:
        """State transitions and attendance: the secretariat or the chair."""
        return self.can_manage or self.can_chair

    @property
    def sees_all_documents(self) -> bool:
        return self.can_manage or self.is_archivist_reader

    @property
    def sees_all_positions(self) -> bool:
        """For templates: ``sees_all_positions(self)``."""
        return sees_all_positions(self)

    def require(self, allowed: bool) -> None:
        if not allowed:
            raise Forbidden()


def meeting_access(user, meeting: Meeting | int) -> MeetingAccess:
    """The caller's access to a session, or ``NotFound`` if they may not see it at all."""
    if not user.is_authenticated or not user.is_active:
        raise NotFound()
    participant, looked_up = None, False
    if not isinstance(meeting, Meeting):
        looked_up = True
        # By id (every page and API call): one query reads the caller's row and the chair's (at most
        # one: ``one_chair_per_meeting``), each with its account and ministry, and the session with
        # them — the session page shows the chair, and the header the caller's ministry (issue 19).
        rows, perms = access_reads.caller_and_chair(user.pk, int(meeting), RULE_CODENAMES)
        if rows:
            return _access_of_rows(user, rows, perms)
        meeting = Meeting.objects.filter(pk=meeting).first()
        if meeting is None:
            raise NotFound()
    # A session object, or an id whose session has neither the caller's row nor the chair's.
    perms = access_reads.grants(user.pk, meeting.pk, RULE_CODENAMES)
    if perms and not looked_up:
        participant = Participant.objects.filter(meeting=meeting, user=user).first()
    access = MeetingAccess(user=user, meeting=meeting, perms=perms, participant=participant,
                           chair=None, chair_known=looked_up)
    if not access.can_view:
        raise NotFound()
    return access


def _access_of_rows(user, rows: list[Participant], perms: frozenset[str]) -> MeetingAccess:
    """``meeting_access`` by id from ``access_reads.caller_and_chair``'s rows (at least one)."""
    participant = next((row for row in rows if row.user_id == user.pk), None)
    chair = next((row for row in rows if row.role == Participant.Role.CHAIR), None)
    if participant is not None:
        _keep_ministry(user, participant.user)
    access = MeetingAccess(user=user, meeting=rows[0].meeting, perms=perms, participant=participant if perms else None,
                           chair=chair, chair_known=True)
    if not access.can_view:
        raise NotFound()
    return access


def _keep_ministry(user, same) -> None:
    """``user.ministry`` from ``same`` (the caller's account, just read with its ministry), so that the
    page's header does not read it again."""
    descriptor = type(same).ministry.field
    if same.pk == user.pk and same.ministry_id == user.ministry_id and not descriptor.is_cached(user):
        descriptor.set_cached_value(user, same.ministry)


def meeting_accesses(users, meeting: Meeting) -> dict[int, MeetingAccess]:
    """``meeting_access`` for many users at once, in two queries: user id → access, for those of
    ``users`` who may see the session (the others are left out, as ``meeting_access`` would raise
    ``NotFound`` for them). ``tests/test_permissions_agree.py`` holds the two together."""
    users = [user for user in users if user.is_authenticated and user.is_active]
    if not users:
        return {}
    ids = {user.pk for user in users}
    grants: dict[int, set[str]] = {}
    for user_id, codename in MeetingUserObjectPermission.objects.filter(
            content_object=meeting, user_id__in=ids).values_list("user_id", "permission__codename"):
        grants.setdefault(user_id, set()).add(codename)
    people = {p.user_id: p for p in Participant.objects.filter(meeting=meeting, user_id__in=list(grants))}
    out = {}
    for user in users:
        perms = frozenset(grants.get(user.pk, ()))
        access = MeetingAccess(user=user, meeting=meeting, perms=perms,
                               participant=people.get(user.pk) if perms else None)
        if access.can_view:
            out[user.pk] = access
    return out


def can_create_meeting(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_secretariat)


def may_read(access: MeetingAccess, classification: str, is_recipient: bool) -> bool:
    """The document rule for one document, in Python; ``documents_visible_to`` is the same rule as a
    query filter (``tests/test_permissions_agree.py`` holds the two together)."""
    if access.sees_all_documents:
        return True
    if classification == Document.Classification.PUBLIC:
        return True
    if classification == Document.Classification.INTERNAL:
        return access.role in INTERNAL_READERS
    return is_recipient


def documents_visible_to(access: MeetingAccess) -> Q:
    """A filter on ``Document`` for the documents this access may read."""
    if access.sees_all_documents:
        return Q()
    visible = Q(classification=Document.Classification.PUBLIC)
    if access.role in INTERNAL_READERS:
        visible |= Q(classification=Document.Classification.INTERNAL)
    recipient = DocumentUserObjectPermission.objects.filter(
        user=access.user, permission__codename="view_document", content_object=OuterRef("pk")
    )
    visible |= Q(classification=Document.Classification.RESTRICTED) & Exists(recipient)
    return visible


def document_access(user, document_id: int) -> tuple[MeetingAccess, Document]:
    """The session access and the document, or ``NotFound`` if the document is not visible."""
    document = (
        Document.objects.select_related("agenda_item__meeting", "current_version")
        .filter(pk=document_id).first()
    )
    if document is None:
        raise NotFound()
    access = meeting_access(user, document.agenda_item.meeting)
    if not Document.objects.filter(documents_visible_to(access), pk=document.pk).exists():
        raise NotFound()
    return access, document


def document_recipient_ids(document: Document) -> list[int]:
    """Users named as recipients of a (restricted) document."""
    return list(
        DocumentUserObjectPermission.objects.filter(content_object=document, permission__codename="view_document")
        .values_list("user_id", flat=True)
    )


def item_access(user, item_id: int):
    """The session access and the agenda item, or ``NotFound`` (a missing item and an item of a session
    the caller may not see answer the same). One query compiled once per process when the session has
    the caller's row or the chair's (``meetings.access.item_caller_and_chair``); else two: the item's
    row (``meetings.access.agenda_item``), then the access by the session's id."""
    if user.is_authenticated and user.is_active:
        item, rows, perms = access_reads.item_caller_and_chair(user.pk, item_id, RULE_CODENAMES)
        if item is not None:
            access = _access_of_rows(user, rows, perms)
            type(item).meeting.field.set_cached_value(item, access.meeting)
            return access, item
    item = access_reads.agenda_item(item_id)
    if item is None:
        raise NotFound()
    access = meeting_access(user, item.meeting_id)
    type(item).meeting.field.set_cached_value(item, access.meeting)
    return access, item


def recipients_by_document(meeting: Meeting) -> dict[int, set[int]]:
    """document id → user ids named as recipients, for every document of the session; one query."""
    rows = DocumentUserObjectPermission.objects.filter(
        content_object__agenda_item__meeting=meeting, permission__codename="view_document"
    ).values_list("content_object_id", "user_id")
    result: dict[int, set[int]] = {}
    for document_id, user_id in rows:
        result.setdefault(document_id, set()).add(user_id)
    return result


def document_readers(meeting: Meeting, people: list[Participant]) -> set[tuple[int, int]]:
    """(document id, user id) for every participant in ``people`` who may read every document of the
    session, by ``may_read`` on the grants they actually hold; three queries whatever the size."""
    grants: dict[int, set[str]] = {}
    for user_id, codename in MeetingUserObjectPermission.objects.filter(content_object=meeting).values_list(
            "user_id", "permission__codename"):
        grants.setdefault(user_id, set()).add(codename)
    documents = list(Document.objects.filter(agenda_item__meeting=meeting).values_list("pk", "classification"))
    recipients = recipients_by_document(meeting)
    readers: set[tuple[int, int]] = set()
    for person in people:
        access = MeetingAccess(user=person.user, meeting=meeting, participant=person,
                               perms=frozenset(grants.get(person.user_id, ())))
        if not access.can_view:
            continue
        for document_id, classification in documents:
            if may_read(access, classification, person.user_id in recipients.get(document_id, ())):
                readers.add((document_id, person.user_id))
    return readers


# --- who hears: the audiences of live events --------------------------------------------------------

def person(user_id: int) -> str:
    """The audience token (and room group) of one person: ``u<user id>`` (``ecabinet.realtime``)."""
    return realtime.user_token(user_id)


def audience_tokens(access: MeetingAccess) -> frozenset[str]:
    """The audience tokens a person holds in a session: the events addressed to any of them are the
    ones they hear. Everyone who sees the session holds ``all`` and their own token; the readers of
    internal papers ``internal``; whoever reads every paper (the secretariat, and archivists in a
    closed session, where nothing live happens but replay must match) ``secretariat``; the chair
    ``chair``."""
    tokens = {ALL, person(access.user.pk)}
    if may_read(access, Document.Classification.INTERNAL, is_recipient=False):
        tokens.add(INTERNAL)
    if access.sees_all_documents:
        tokens.add(SECRETARIAT)
    if access.can_chair:
        tokens.add(CHAIR_HEARS)
    return frozenset(tokens)


def hears(access: MeetingAccess, audience) -> bool:
    """Whether an event addressed to ``audience`` reaches this person."""
    return bool(audience_tokens(access) & set(audience))


def document_audience(document, recipient_ids) -> list[str]:
    """Who may read a document, as audience tokens (the rule of ``may_read``)."""
    return _classified_audience(document.classification, recipient_ids)


def _classified_audience(classification: str, recipient_ids) -> list[str]:
    if classification == Document.Classification.PUBLIC:
        return [ALL]
    if classification == Document.Classification.INTERNAL:
        return [INTERNAL]
    return [SECRETARIAT, *(person(user_id) for user_id in sorted(recipient_ids))]


def comment_audience(c: Comment, recipient_ids=()) -> list[str]:
    """Who hears of a comment: its author, plus the secretariat for a comment to the secretariat,
    or — for a shared one — everyone; except that a comment on a document reaches only the readers
    of that document (``recipient_ids``: its named recipients, for a restricted one). Whoever later
    stops being a reader stops seeing the comments on it (see ``snapshot.visible_comments``)."""
    classification = c.document.classification if c.document_id else None
    return comment_audience_of(c.visibility, c.author_id, c.document_id, classification, recipient_ids)


def comment_audience_of(visibility: str, author_id: int, document_id: int | None, classification: str | None,
                        recipient_ids=()) -> list[str]:
    """``comment_audience`` on the comment's fields alone (the rule, written once)."""
    author = person(author_id)
    if visibility == Comment.Visibility.PRIVATE:
        return [author]
    if visibility == Comment.Visibility.SECRETARIAT:
        return [SECRETARIAT, author]
    if document_id is None:
        return [ALL]
    return _classified_audience(classification, recipient_ids)


def position_audience(user_id: int) -> list[str]:
    """Who hears of a position: its author, the secretariat and the chair."""
    return [SECRETARIAT, CHAIR_HEARS, person(user_id)]


def sees_all_positions(access: MeetingAccess) -> bool:
    """Whether the snapshot carries everyone's positions (else only the caller's own)."""
    return hears(access, [SECRETARIAT, CHAIR_HEARS])


# Who hears who has the session open right now: the secretariat (it runs the roll call).
PRESENCE_AUDIENCE = (SECRETARIAT,)


def sees_presence(access: MeetingAccess) -> bool:
    """Whether the snapshot carries who is online (the same people ``presence.changed`` reaches)."""
    return hears(access, PRESENCE_AUDIENCE)


def comment_visibilities(access: MeetingAccess) -> list[str]:
    """The visibilities the caller may give a comment: none outside the participants; observers keep
    private notes only."""
    if access.participant is None:
        return []
    if access.role == Participant.Role.OBSERVER:
        return [Comment.Visibility.PRIVATE]
    return list(Comment.Visibility.values)


def may_answer_invitation(access: MeetingAccess) -> bool:
    """Whether the caller answers their own invitation (confirms, or sends apologies) on the session
    page: an invited participant other than the secretaries, who run the session, while it is
    published (``services.attendance_set`` accepts the same answers from them)."""
    me = access.participant
    return bool(me and me.role != Participant.Role.SECRETARY and me.is_approved
                and access.meeting.status == Meeting.Status.PUBLISHED)


def capabilities(access: MeetingAccess) -> dict:
    """What the caller's role lets them do in the room, for the tablet (the snapshot's ``me.can``,
    docs/protocol.md §4): the tablet offers a control when this says so and the session's state allows
    it; the services check the same rules when the request comes."""
    return {
        "run": access.can_run,  # the agenda, the floor, motions
        "speak": access.role in SPEAKERS,
        "position": access.role in POSITION_HOLDERS,
        "see_positions": sees_all_positions(access),
        "comment": bool(comment_visibilities(access)),
        "comment_visibilities": comment_visibilities(access),
        "vote": may_vote_in(access),
        "stands_in": access.role == Participant.Role.SUBSTITUTE,  # votes for the member they replace
    }


# --- annotations on documents (issue 17) ------------------------------------------------------------

# While the session is published, in progress or adjourned, annotations may be shared or sent to the
# secretariat (as comments are posted); private ones are kept whenever the document can be read.
ANNOTATION_SHARING_STATES = frozenset({Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS,
                                       Meeting.Status.ADJOURNED})


def annotation_visibilities(access: MeetingAccess) -> list[str]:
    """The visibilities the caller may give an annotation now (and that an annotation of theirs must
    have to be changed now). Whoever reads a document keeps private annotations on it in any state of
    the session: observers, an archivist reading a closed session, the secretariat preparing a draft.
    Shared ones and those to the secretariat: whoever may comment so (``comment_visibilities``: not
    observers, not archivists), while the session is published, in progress or adjourned — after the
    close, the shared ones are part of what the archive package keeps and no longer change."""
    allowed = [Annotation.Visibility.PRIVATE.value]
    if access.meeting.status in ANNOTATION_SHARING_STATES:
        allowed += [v for v in (Annotation.Visibility.SHARED, Annotation.Visibility.SECRETARIAT)
                    if v in comment_visibilities(access)]
    return allowed


def annotation_audience_of(visibility: str, author_id: int, document_id: int, classification: str,
                           recipient_ids=()) -> list[str]:
    """Who sees and hears of an annotation on a document: the rule of a comment on that document
    (``comment_audience_of``): private → its author; to the secretariat → the author and the
    secretariat; shared → the readers of the document (its recipients and the secretariat, for a
    restricted one)."""
    return comment_audience_of(visibility, author_id, document_id, classification, recipient_ids)


def annotation_audience(annotation: Annotation, recipient_ids=()) -> list[str]:
    """``annotation_audience_of`` for one annotation (``recipient_ids``: its document's named
    recipients, for a restricted one)."""
    return annotation_audience_of(annotation.visibility, annotation.author_id, annotation.document_id,
                                  annotation.document.classification, recipient_ids)


def visible_annotations(access: MeetingAccess, version) -> QuerySet[Annotation]:
    """The live annotations of a document version the caller may see, as one query: their own (any
    visibility), and the others' whose audience (``annotation_audience_of``) they are in. Nothing for
    whoever may not read the document. ``tests/test_annotations_visibility.py`` holds it to the rule
    applied annotation by annotation, for every persona."""
    document = version.document
    recipients = document_recipient_ids(document) if document.classification == Document.Classification.RESTRICTED \
        else []
    if not may_read(access, document.classification, access.user.pk in recipients):
        return Annotation.objects.none()
    tokens = audience_tokens(access)
    shown = Q(author_id=access.user.pk)
    for visibility in (Annotation.Visibility.SHARED, Annotation.Visibility.SECRETARIAT):
        # author 0: nobody's token, so this asks whether the caller hears of someone else's annotation
        if tokens & set(annotation_audience_of(visibility, 0, document.pk, document.classification, recipients)):
            shown |= Q(visibility=visibility)
    return (Annotation.objects.filter(shown, version=version, deleted_at__isnull=True)
            .select_related("author").order_by("page", "id"))
# --- offline copies on the tablet (issue 17, docs/offline.md) ---------------------------------------

OFFLINE_STATES = frozenset({Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS, Meeting.Status.ADJOURNED})


def offline_refusal(access: MeetingAccess, now: datetime) -> str | None:
    """Why this person may not keep this session on a tablet now (a machine code, explained to the
    person by ``meetings.offline.REFUSALS``), or ``None`` when they may. They may when they may open
    it now as an invited participant (an approved substitute; not an archivist reading a closed
    session at a desk), the secretariat lets ministers keep it (``offline_copies``), and it is
    published, in progress, adjourned, or closed less than ``OFFLINE_CLOSED_DAYS`` days ago (a draft
    is still changing; an older closed session belongs to the archive)."""
    meeting = access.meeting
    if access.participant is None or not access.can_view:
        return "not_participant"
    if not access.participant.is_approved:
        return "not_approved"
    if not meeting.offline_copies:
        return "offline_off"
    if meeting.status in OFFLINE_STATES:
        return None
    if meeting.status == Meeting.Status.CLOSED:
        closed_at = meeting.closed_at or now
        return None if now - closed_at < timedelta(days=settings.OFFLINE_CLOSED_DAYS) else "closed"
    return "draft"


def may_keep_document_offline(access: MeetingAccess, classification: str, is_recipient: bool,
                              now: datetime) -> bool:
    """Whether one document may be kept on the tablet: the session may be kept, the person may read
    the document, and it is not restricted unless the secretariat allowed restricted ones too
    (``offline_restricted``). ``offline_documents`` is the same rule as a query filter."""
    return (offline_refusal(access, now) is None and may_read(access, classification, is_recipient)
            and (classification != Document.Classification.RESTRICTED or access.meeting.offline_restricted))


def offline_documents(access: MeetingAccess) -> Q:
    """A filter on ``Document`` for the documents of a session that may be kept offline (given that
    the session itself may be, ``offline_refusal``)."""
    kept = documents_visible_to(access)
    if not access.meeting.offline_restricted:
        kept &= ~Q(classification=Document.Classification.RESTRICTED)
    return kept


def meeting_access_by_id(user, meeting_id: int, *, reread_user: bool = False) -> MeetingAccess:
    """``meeting_access`` for a session known by its id, in two queries rather than three: the
    caller's permissions, then their participant row with the session joined (the session alone when
    they have none). Each room-socket connect asks twice (issue 19: a thousand tablets reconnecting
    at once queue behind each other's queries). ``reread_user``: the account's ``is_active`` and
    ``is_archivist`` are re-read into ``user`` first (deactivated meanwhile?), with the permissions
    when there are any (a query more only for those without). ``tests/test_permissions_agree.py``
    holds this equal to ``meeting_access``."""
    if not user.is_authenticated or (not reread_user and not user.is_active):
        raise NotFound()
    rows = list(MeetingUserObjectPermission.objects.filter(user=user, content_object_id=meeting_id)
                .values_list("permission__codename", "user__is_active", "user__is_archivist"))
    if reread_user:
        if rows:
            user.is_active, user.is_archivist = rows[0][1], rows[0][2]
        else:
            user.refresh_from_db(fields=["is_active", "is_archivist"])
        if not user.is_active:
            raise NotFound()
    perms = frozenset(codename for codename, _active, _archivist in rows)
    participant = (Participant.objects.filter(meeting_id=meeting_id, user=user).select_related("meeting")
                   .order_by("pk").first() if perms else None)
    meeting = participant.meeting if participant is not None else Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound()
    access = MeetingAccess(user=user, meeting=meeting, perms=perms, participant=participant)
    if not access.can_view:
        raise NotFound()
    return access
