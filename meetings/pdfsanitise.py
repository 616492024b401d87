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

Every object is visited once, indirect or direct, by walking the indirect objects and the direct
objects nested in them; nothing is decoded (no stream content is read).
"""

from __future__ import annotations

import pikepdf

__all__ = ["SAFE_ACTIONS", "sanitise"]

SAFE_ACTIONS = frozenset({"/GoTo", "/Named", "/SetOCGState", "/Trans", "/Hide"})
# Action types that act outside the page: recognised wherever they are (``/S`` alone names many
# other things — a structure element's role, a transparency group — so only these are touched).
ACTING = frozenset({"/URI", "/Launch", "/GoToR", "/GoToE", "/GoTo3DView", "/Thread", "/SubmitForm", "/ImportData",
                    "/ResetForm", "/JavaScript", "/Rendition", "/Sound", "/Movie", "/RichMediaExecute"})
ACTION_KEYS = ("/A", "/OpenAction", "/Next", "/PA")
MEDIA_ANNOTATIONS = frozenset({"/Screen", "/Movie", "/Sound", "/RichMedia", "/3D", "/FileAttachment"})
FILE_KEYS = ("/F", "/UF", "/FS")


def _name(obj) -> str:
    return str(obj) if isinstance(obj, pikepdf.Name) else ""


def _is_safe_action(value) -> bool:
    """A destination (array or name/string) or an inert action dictionary."""
    if isinstance(value, pikepdf.Dictionary):
        return _name(value.get("/S")) in SAFE_ACTIONS
    if isinstance(value, pikepdf.Array):
        # /Next may be an array of actions; a destination is an array whose first item is a page.
        items = list(value)
        if items and all(isinstance(item, pikepdf.Dictionary) and "/S" in item for item in items):
            return all(_is_safe_action(item) for item in items)
        return True
    return isinstance(value, pikepdf.Name | pikepdf.String)


def _clean_dictionary(obj) -> None:
    for key in ACTION_KEYS:
        if key in obj and not _is_safe_action(obj[key]):
            del obj[key]
    if "/AA" in obj:
        del obj["/AA"]
    if _name(obj.get("/S")) in ACTING:
        # An action reached some other way (an outline item or a field pointing at it by
        # reference, a key we do not know): empty it, so that nothing is left to act.
        for key in list(obj.keys()):
            del obj[key]
        return
    if _name(obj.get("/Type")) == "/Annot" or ("/Subtype" in obj and "/Rect" in obj):
        if "/A" not in obj and "/URI" in obj:
            del obj["/URI"]
        for key in FILE_KEYS:
            if key in obj and _name(obj.get("/Subtype")) in ("/Link", *MEDIA_ANNOTATIONS):
                del obj[key]


def _walk(top):
    stack = [top]
    while stack:
        current = stack.pop()
        if isinstance(current, pikepdf.Array):
            children = list(current)
        elif isinstance(current, pikepdf.Dictionary | pikepdf.Stream):
            yield current
            children = [value for _key, value in current.items()]
        else:
            continue
        stack.extend(child for child in children
                     if isinstance(child, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)
                     and not child.is_indirect)


def _drop_media_annotations(pdf: pikepdf.Pdf) -> None:
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            continue
        kept = [a for a in annots if not (isinstance(a, pikepdf.Dictionary)
                                           and _name(a.get("/Subtype")) in MEDIA_ANNOTATIONS)]
        if len(kept) != len(annots):
            page.obj.Annots = pikepdf.Array(kept)


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
    dictionaries = [d for top in pdf.objects for d in _walk(top)]
    for obj in dictionaries:
        _clean_dictionary(obj)
