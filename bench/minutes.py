"""Minutes: rendering and signing the minutes of a 30-item session, against bare WeasyPrint
rendering of the same HTML plus a bare pyHanko signature, in the same run.

* **e-Cabinet** — the project's own pipeline, picked by ``pipeline()``: with ``records.minutes``
  (the real minutes) a real session is prepared through the services (27 members present, 30
  items with a document and shared comments each, a named vote on the first item, adjourned, draft
  minutes generated), then timed: ``minutes_finalize`` (session record → HTML → PDF/A-3b with the
  JSON and Akoma Ntoso records embedded, stored) and ``minutes_sign`` by the secretary (key from the
  development PKI unlocked by PIN, PAdES signature, stored). Without ``records.minutes``, a
  stand-in: ``bench/templates/minutes_like.html`` rendered by Django, WeasyPrint through
  ``ecabinet.pdf``, ``records.signing.sign_pdf`` with a development-PKI key.
* **bare** — ``weasyprint.HTML(string=<the same HTML>).write_pdf()`` and ``pyhanko.sign.signers.
  sign_pdf`` with the same key file, nothing else.

Each is run once to warm up (fonts, imports), then ``repeats`` times, alternating; the medians are
compared (target: e-Cabinet within 1.2× of bare). Every signed PDF must verify.
"""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path

from .common import ratio, table

NAME = "minutes"
ITEMS = 30
TARGET = 1.2
TEMPLATES = Path(__file__).resolve().parent / "templates"


# --- the runner's side ----------------------------------------------------------------------------

def run(ctx) -> dict:
    repeats = 2 if ctx.quick else 5
    db = ctx.database("postgres" if ctx.cluster else "sqlite")
    result = db.fixtures("minutes", items=ITEMS, repeats=repeats)
    result["database"] = db.label
    return result


def report(payload: dict) -> str:
    o, b = payload["ours"], payload["bare"]
    rows = [["e-Cabinet: " + payload["pipeline"], o["render"], o["sign"], o["total"], payload["pages"],
             payload["ratio"]],
            ["bare WeasyPrint + pyHanko", b["render"], b["sign"], b["total"], payload["pages_bare"], None]]
    text = table(f"Minutes of a {payload['items']}-item session — median of {payload['repeats']} runs (milliseconds; "
                 f"target ratio ≤ {TARGET})", ["pipeline", "render", "sign", "total", "pages", "ratio"], rows)
    text += f"\nsigned PDFs verify: {'yes' if payload['verified'] else 'NO'}; our pipeline: {payload['description']}"
    return text


def chart(payload: dict, info: dict):
    from .common import figure

    fig, (ax,) = figure(1, width=7)
    labels = ["e-Cabinet", "bare WeasyPrint\n+ pyHanko"]
    render = [payload["ours"]["render"], payload["bare"]["render"]]
    sign = [payload["ours"]["sign"], payload["bare"]["sign"]]
    ax.bar(labels, render, color="#3182bd", label="render")
    ax.bar(labels, sign, bottom=render, color="#e6550d", label="sign")
    ax.text(0, render[0] + sign[0], f"{payload['ratio']:.2f}× (target ≤ {TARGET}×)", ha="center", va="bottom")
    ax.set_ylabel("milliseconds (median)")
    ax.set_title(f"Minutes of a {payload['items']}-item session: render + sign")
    ax.margins(y=0.15)
    ax.legend(fontsize=8)
    return fig


# --- inside the Django process (bench.fixtures) ---------------------------------------------------

class RealMinutes:
    """The real minutes pipeline (records.minutes), driven through its services."""

    name = "records.minutes (finalize + sign)"
    description = ("session record → HTML → PDF/A-3b with embedded JSON and Akoma Ntoso records "
                   "(minutes_finalize), then the secretary's PAdES signature (minutes_sign)")

    def __init__(self) -> None:
        from records.minutes import drafting, render, sealing

        self.render, self.drafting, self.sealing = render, drafting, sealing
        self.counter = 0

    def prepare(self, items: int) -> dict:
        from django.contrib.auth import get_user_model

        from meetings import services as meeting_services
        from meetings.models import Meeting
        from voting.services import motions

        from . import fixtures

        self.counter += 1
        users = {u.username: u for u in get_user_model().objects.filter(username__in=[*fixtures.DEMO_MEMBERS,
                                                                                    "secretary"])}
        room = fixtures.meeting(title=f"Phiên họp Chính phủ thường kỳ (thử tải biên bản {self.counter})",
                                usernames=fixtures.DEMO_MEMBERS, items=items, documents_per_item=1,
                                comments_per_item=2)
        chair = users["pm"]
        motion = motions.motion_create(actor=chair, item_id=room["items"][0], title="Thông qua dự thảo Nghị định",
                                       method="named")
        motions.motion_open(actor=chair, motion_id=motion.pk)
        for i, name in enumerate(fixtures.DEMO_MEMBERS):
            motions.vote_cast(actor=users[name], motion_id=motion.pk, choice="yes" if i < 25 else "abstain")
        motions.motion_close(actor=chair, motion_id=motion.pk)
        meeting = Meeting.objects.get(pk=room["meeting"])
        meeting_services.meeting_adjourn(actor=chair, meeting=meeting)
        minutes, _created = self.drafting.minutes_generate(actor=users["secretary"], meeting_id=meeting.pk)
        return {"meeting": meeting.pk, "revision": minutes.revision, "secretary": users["secretary"]}

    def run(self, case: dict) -> dict:
        from ecabinet.pki import DEMO_PIN

        captured = {}
        original = self.render.render_html

        def spy(*args, **kwargs):
            captured["html"] = original(*args, **kwargs)
            return captured["html"]

        self.render.render_html = spy  # to hand the very same HTML to the bare renderer
        try:
            t0 = time.perf_counter()
            self.sealing.minutes_finalize(actor=case["secretary"], meeting_id=case["meeting"],
                                          revision=case["revision"])
            t1 = time.perf_counter()
        finally:
            self.render.render_html = original
        document = self.sealing.minutes_sign(actor=case["secretary"], meeting_id=case["meeting"], pin=DEMO_PIN)
        t2 = time.perf_counter()
        return {"render": t1 - t0, "sign": t2 - t1, "html": captured["html"],
                "signed": self.drafting.read_bytes(document)}

    def key(self) -> tuple[Path, str]:
        from django.conf import settings

        from ecabinet.pki import DEMO_PIN

        return Path(settings.PKI_DIR) / "secretary.p12", DEMO_PIN

    def trust_roots(self) -> list:
        from ecabinet import pki

        return pki.trust_roots_from_settings()


class StandInMinutes:
    """Until the real minutes exist: a minutes-like template, WeasyPrint through StaticFilesOnly,
    records.signing with a development-PKI key."""

    name = "stand-in template (bench/templates/minutes_like.html)"
    description = "Django template → WeasyPrint (StaticFilesOnly, PDF/A-3b) → records.signing.sign_pdf"

    def __init__(self) -> None:
        import tempfile

        from ecabinet import pki

        self.dir = Path(tempfile.mkdtemp(prefix="bench-minutes-pki-"))
        ca_key, self.ca = pki.create_ca()
        key, cert = pki.issue_signing_cert(ca_key, self.ca, common_name="Thư ký phiên họp (thử tải)")
        pki.write_p12(self.dir / "secretary.p12", key, cert, self.ca)

    def prepare(self, items: int) -> dict:
        import hashlib

        people = [("Phạm Quốc An", "Thủ tướng Chính phủ", "Chính phủ")] + [
            (f"Thành viên Chính phủ {i:02d}", "Bộ trưởng", f"Bộ số {i}") for i in range(1, 27)]
        attendance = [{"name": n, "position": p, "ministry": m, "attendance": "Có mặt" if i < 25 else "Vắng mặt"}
                      for i, (n, p, m) in enumerate(people)]
        item_list = [{
            "position": i, "title": f"Dự thảo Nghị định quy định chi tiết một số điều của Luật số {i}/2026/QH15",
            "presenter": f"Bộ số {i % 26 + 1}",
            "narrative": "Các thành viên Chính phủ thảo luận, cơ bản thống nhất với Tờ trình; đề nghị cơ quan chủ "
                         "trì tiếp thu ý kiến, hoàn thiện dự thảo trước khi ban hành. " * 2,
            "documents": [{"title": f"Tờ trình số {i}", "version": 2,
                           "sha256": hashlib.sha256(f"doc{i}".encode()).hexdigest()}],
            "comments": [{"author": f"Thành viên Chính phủ {(i + c) % 26 + 1:02d}",
                          "text": "Đề nghị làm rõ phạm vi điều chỉnh tại Điều 3 và bổ sung đánh giá tác động."}
                         for c in range(2)],
            "result": {"yes": 25, "no": 0, "abstain": 0, "eligible": 27, "outcome": "Thông qua"} if i == 1 else None,
        } for i in range(1, items + 1)]
        return {"context": {"title": "Phiên họp Chính phủ thường kỳ tháng 11 năm 2026", "number": "123/BB-CP",
                            "date": "ngày 25 tháng 11 năm 2026", "location": "Nhà Quốc hội", "chair": people[0][0],
                            "present": 25, "attendance": attendance, "items": item_list,
                            "decisions": [f"Thông qua nội dung {i}." for i in range(1, items + 1)],
                            "record_sha256": hashlib.sha256(b"record").hexdigest()}}

    def run(self, case: dict) -> dict:
        from django.template import Context, Engine

        from ecabinet import pdf as ecabinet_pdf
        from ecabinet import pki
        from records import signing

        t0 = time.perf_counter()
        engine = Engine(dirs=[str(TEMPLATES)])
        html = engine.get_template("minutes_like.html").render(Context(case["context"]))
        pdf = ecabinet_pdf.layout(html).write_pdf(pdf_variant="pdf/a-3b")
        t1 = time.perf_counter()
        signer = pki.load_signer("secretary", pki.DEMO_PIN, pki_dir=self.dir)
        signed = signing.sign_pdf(pdf, signer=signer, field_name="ThuKy", reason="Thư ký phiên họp ký biên bản",
                                  location="Hà Nội")
        t2 = time.perf_counter()
        return {"render": t1 - t0, "sign": t2 - t1, "html": html, "signed": signed}

    def key(self) -> tuple[Path, str]:
        from ecabinet.pki import DEMO_PIN

        return self.dir / "secretary.p12", DEMO_PIN

    def trust_roots(self) -> list:
        return [self.ca]


def pipeline():
    """Our minutes pipeline: the real one when ``records.minutes`` is there (and has the render
    and services this benchmark drives), else the stand-in."""
    try:
        from records.minutes import drafting, render, sealing
    except ImportError:
        return StandInMinutes()
    needed = [(render, "render_html"), (drafting, "minutes_generate"), (sealing, "minutes_finalize"),
              (sealing, "minutes_sign"), (drafting, "read_bytes")]
    if all(hasattr(module, name) for module, name in needed):
        return RealMinutes()
    return StandInMinutes()


def bare(html: str, key_file: Path, pin: str) -> dict:
    """Bare WeasyPrint rendering of ``html`` and a bare pyHanko signature with the same key."""
    import weasyprint
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from ecabinet.pdf import STATIC_DIR

    t0 = time.perf_counter()
    pdf = weasyprint.HTML(string=html, base_url=STATIC_DIR.as_uri() + "/").write_pdf()
    t1 = time.perf_counter()
    signer = signers.SimpleSigner.load_pkcs12(str(key_file), passphrase=pin.encode())
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), meta, signer=signer)
    t2 = time.perf_counter()
    return {"render": t1 - t0, "sign": t2 - t1, "signed": out.getvalue()}


def _pages(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def measure(*, items: int = ITEMS, repeats: int = 5) -> dict:
    """Run both pipelines, alternating; called by ``bench.fixtures`` in a Django process."""
    from records import signature_verify

    ours_pipe = pipeline()
    key_file, pin = None, None
    ours, raw = [], []
    verified = True
    last = {}
    for i in range(repeats + 1):  # the first pair warms up and is not counted
        case = ours_pipe.prepare(items)
        o = ours_pipe.run(case)
        key_file, pin = ours_pipe.key()
        b = bare(o["html"], key_file, pin)
        for signed in (o["signed"], b["signed"]):
            report = signature_verify.verify_pdf(signed, trust_roots=ours_pipe.trust_roots())
            verified = verified and report.ok
        if i:
            ours.append(o)
            raw.append(b)
        last = {"ours": o, "bare": b}

    def med(runs: list[dict], key: str) -> float:
        return round(statistics.median(r[key] for r in runs) * 1000, 1)

    def totals(runs: list[dict]) -> dict:
        return {"render": med(runs, "render"), "sign": med(runs, "sign"),
                "total": round(statistics.median(r["render"] + r["sign"] for r in runs) * 1000, 1),
                "runs_ms": [round((r["render"] + r["sign"]) * 1000, 1) for r in runs]}

    o, b = totals(ours), totals(raw)
    return {"pipeline": ours_pipe.name, "description": ours_pipe.description, "items": items, "repeats": repeats,
            "ours": o, "bare": b, "ratio": ratio(o["total"], b["total"]),
            "pages": _pages(last["ours"]["signed"]), "pages_bare": _pages(last["bare"]["signed"]),
            "bytes": len(last["ours"]["signed"]), "bytes_bare": len(last["bare"]["signed"]),
            "html_bytes": len(last["ours"]["html"].encode()), "verified": verified,
            "ok": verified, "failure": None if verified else "a signed PDF did not verify",
            "within_target": (ratio(o["total"], b["total"]) or 99) <= TARGET}


