"""Removing active content from the copy of a PDF a reader is served.

Decision (issue #14 §3): links and actions that reach outside the document are *accepted* at upload
and the stored file stays byte for byte what its author sent — a cabinet paper is archived as it
was received ("nothing is lost"), and its SHA-256 keeps meaning that. They are removed from every
served copy instead, here, before the watermark is drawn. JavaScript, launch actions and embedded
files are still refused at upload (``pdfcheck``): removing a script can change what a page shows.

A served copy carries:

* no ``/AA`` (additional actions: on open, close, page view, field focus …), anywhere;
* no action other than the inert ones that stay inside the document (``/GoTo``, ``/Named`` such as
  "next page", ``/SetOCGState``, ``/Trans``, ``/Hide``) — so no URI, Launch, GoToR, GoToE,
  GoTo3DView, Thread, SubmitForm, ImportData, ResetForm, JavaScript, Rendition, Sound, Movie,
  RichMediaExecute — whether it is reached by ``/OpenAction``, an annotation's or outline item's
  ``/A``, a ``/Next`` chain or a page-object ``/PA``;
* an ``/OpenAction`` only when it is a destination or an inert action;
* no ``/URI`` left on a link annotation whose action was removed, no ``file:`` specification
  (``/F``, ``/UF``, ``/FS``) on an annotation, and no annotation whose only purpose is to play or
  fetch media (Screen, Movie, Sound, RichMedia, 3D);
* no document-level ``/Names`` trees of JavaScript or embedded files, and no ``/URI`` base
  dictionary in the catalog.

* no ``/Named`` action other than page navigation (NextPage, PrevPage, FirstPage, LastPage): a
  ``/Print`` or ``/SaveAs`` run on open is removed;
* no ``/URI`` key on a link annotation at all, whatever its ``/A`` (a viewer may follow it);
* no external stream (``/F``, ``/FFilter``, ``/FDecodeParms`` on a stream dictionary: the viewer
  would fetch the content from a URL or a file share), no reference XObject (``/Ref``) and no OPI
  dictionary (``/OPI``, whose ``/F`` names a high-resolution file on a share), on any stream a page
  draws.

Only the places that can hold actions or draw content are walked, not every object of the file:
the catalog (``/OpenAction``, ``/AA``, ``/Names``, ``/AcroForm`` fields and their kids, the outline
tree), each page (``/AA``, ``/Annots`` with their actions and appearance streams, ``/Resources``:
XObjects, fonts, patterns, shadings, graphics states, transitively) and the ``/Next`` chains
reachable from those actions; each object once. A file of a million unreachable objects costs
nothing more here (it took 23 s and 500 MB per download when every object was walked in Python).
Nothing is decoded (no stream content is read).
"""

from __future__ import annotations

import pikepdf

__all__ = ["SAFE_ACTIONS", "sanitise"]

SAFE_ACTIONS = frozenset({"/GoTo", "/Named", "/SetOCGState", "/Trans", "/Hide"})
SAFE_NAMED = frozenset({"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"})
# Action types that act outside the page: recognised wherever they are (``/S`` alone names many
# other things — a structure element's role, a transparency group — so only these are touched).
ACTING = frozenset({"/URI", "/Launch", "/GoToR", "/GoToE", "/GoTo3DView", "/Thread", "/SubmitForm", "/ImportData",
                    "/ResetForm", "/JavaScript", "/Rendition", "/Sound", "/Movie", "/RichMediaExecute"})
ACTION_KEYS = ("/A", "/OpenAction", "/Next", "/PA")
MEDIA_ANNOTATIONS = frozenset({"/Screen", "/Movie", "/Sound", "/RichMedia", "/3D", "/FileAttachment"})
FILE_KEYS = ("/F", "/UF", "/FS")
EXTERNAL_STREAM_KEYS = ("/F", "/FFilter", "/FDecodeParms")
# Where drawn content hangs off a resource dictionary, an annotation or a form.
RESOURCE_KEYS = ("/XObject", "/Font", "/Pattern", "/Shading", "/ExtGState", "/ColorSpace", "/Properties")
DRAWN_KEYS = ("/Resources", "/AP", "/N", "/R", "/D", "/MK", "/SMask", "/G", "/FontFile", "/FontFile2",
              "/FontFile3", "/FontDescriptor", "/DescendantFonts", "/ToUnicode", "/Encoding", "/CharProcs",
              "/Mask", "/Alternates", "/Thumb", "/Contents", "/Group", "/TR", "/TR2", "/Function", "/Functions",
              "/DR", *RESOURCE_KEYS)


def _name(obj) -> str:
    return str(obj) if isinstance(obj, pikepdf.Name) else ""


def _is_safe_action(value) -> bool:
    """A destination (array or name/string) or an inert action dictionary."""
    if isinstance(value, pikepdf.Dictionary):
        kind = _name(value.get("/S"))
        if kind == "/Named":
            return _name(value.get("/N")) in SAFE_NAMED
        return kind in SAFE_ACTIONS
    if isinstance(value, pikepdf.Array):
        # /Next may be an array of actions; a destination is an array whose first item is a page.
        items = list(value)
        if items and all(isinstance(item, pikepdf.Dictionary) and "/S" in item for item in items):
            return all(_is_safe_action(item) for item in items)
        return True
    return isinstance(value, pikepdf.Name | pikepdf.String)


def _clean_dictionary(obj) -> None:
    for key in ACTION_KEYS:
        if key == "/Next" and "/S" not in obj:
            continue  # an outline item's next sibling, not an action
        if key in obj and not _is_safe_action(obj[key]):
            del obj[key]
    if "/AA" in obj:
        del obj["/AA"]
    kind = _name(obj.get("/S"))
    if kind in ACTING or (kind == "/Named" and _name(obj.get("/N")) not in SAFE_NAMED and "/N" in obj):
        # An action reached some other way (an outline item or a field pointing at it by
        # reference, a key we do not know): empty it, so that nothing is left to act.
        for key in list(obj.keys()):
            del obj[key]
        return
    if _name(obj.get("/Type")) == "/Annot" or ("/Subtype" in obj and "/Rect" in obj):
        if "/URI" in obj and _name(obj.get("/Subtype")) in ("/Link", ""):
            del obj["/URI"]
        for key in FILE_KEYS:
            if key in obj and _name(obj.get("/Subtype")) in ("/Link", *MEDIA_ANNOTATIONS):
                del obj[key]


def _clean_stream(obj) -> None:
    for key in EXTERNAL_STREAM_KEYS:
        if key in obj:
            del obj[key]
    for key in ("/Ref", "/OPI"):
        if key in obj:
            del obj[key]


def _drop_media_annotations(pdf: pikepdf.Pdf) -> None:
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            continue
        kept = [a for a in annots if not (isinstance(a, pikepdf.Dictionary)
                                           and _name(a.get("/Subtype")) in MEDIA_ANNOTATIONS)]
        if len(kept) != len(annots):
            page.obj.Annots = pikepdf.Array(kept)


class _Walker:
    """Visits objects reachable by the keys that hold actions or drawn content, each once."""

    def __init__(self):
        self.seen: set = set()
        self.stack: list = []

    def push(self, value) -> None:
        if isinstance(value, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream):
            if value.is_indirect:
                if value.objgen in self.seen:
                    return
                self.seen.add(value.objgen)
            self.stack.append(value)

    def run(self) -> None:
        while self.stack:
            current = self.stack.pop()
            if isinstance(current, pikepdf.Array):
                for item in current:
                    self.push(item)
                continue
            if isinstance(current, pikepdf.Stream):
                _clean_stream(current)
            _clean_dictionary(current)
            for key in (*ACTION_KEYS, "/First", "/Kids", "/Fields", *DRAWN_KEYS):
                if key in current and not (key == "/Kids" and _name(current.get("/Type")) == "/Pages"):
                    value = current.get(key)
                    if key in RESOURCE_KEYS and isinstance(value, pikepdf.Dictionary):
                        # A resource category: its entries have the names the content gives them.
                        if value.is_indirect:
                            self.seen.add(value.objgen)
                        for _name_key, item in value.items():
                            self.push(item)
                    else:
                        self.push(value)
            annots = current.get("/Annots") if _name(current.get("/Type")) == "/Page" else None
            if annots is not None:
                self.push(annots)


def sanitise(pdf: pikepdf.Pdf) -> None:
    """Remove, in place, every piece of active content listed in the module docstring."""
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        for key in ("/JavaScript", "/EmbeddedFiles"):
            if key in names:
                del names[key]
    if "/URI" in root:
        del root["/URI"]
    _drop_media_annotations(pdf)
    walker = _Walker()
    for key in ("/OpenAction", "/AA"):
        if key in root and not _is_safe_action(root[key]):
            del root[key]
    for key in ("/OpenAction",):
        walker.push(root.get(key))
    walker.push(root.get("/AcroForm"))
    outlines = root.get("/Outlines")
    if isinstance(outlines, pikepdf.Dictionary):
        walker.push(outlines)
    for page in pdf.pages:
        walker.push(page.obj)
    walker.run()
