"""The child process that reads an uploaded PDF, within hard limits, and reports its facts.

Run by ``meetings.pdfcheck`` as ``python -I meetings/pdf_worker.py`` with a JSON request on stdin
(``{"path": …, "limits": {…}}``) and one JSON answer on stdout: ``{"facts": {…}}`` or
``{"refused": "<code>", "params": {…}}``. It imports no Django and touches no database: whatever a
hostile file does to the parsers happens here, to a process that may die without harm.

Two layers of limits:

1. **The process** (set first, before any parser is loaded): ``RLIMIT_AS`` (address space, so a
   parser that allocates without bound gets ``MemoryError``/``bad_alloc`` instead of growing the
   server), ``RLIMIT_CPU`` (SIGXCPU, then SIGKILL), no core files, no files written. The parent adds a
   wall-clock timeout and kills the child when it passes.
2. **The file**, checked while reading it, so that an ordinary refusal comes with a precise code
   long before the process limits are reached: the object count (the trailer's ``/Size`` before
   anything is resolved, then the objects themselves), the nesting depth of direct objects, the
   pages, and the bytes every stream decodes to. Streams are measured from their raw bytes with a
   bounded decoder (``zlib.decompressobj`` with ``max_length``): a Flate stream stops decoding the
   moment it passes ``max_stream_bytes``, so a 1 MB → 1 GiB bomb costs 64 MB of work, not 1 GiB.
   The decoded size of page content — its content streams, the XObjects it draws and the streams
   of its fonts — is counted once per page that uses it (a 100 MB stream shared
   by 50 pages is 5 GB of work for anyone who renders or extracts the document), and the total
   must stay under ``max_decoded_bytes``. Fonts' character maps (/ToUnicode, a CMap /Encoding),
   which text extraction parses again for each page at a few MB a second, are also counted per
   page against the much smaller ``max_text_map_bytes``. Filters this module cannot bound (LZW, RunLength beyond a
   size where their worst-case expansion could exceed the per-stream limit, unknown names) are
   refused rather than decoded. Image codecs (DCT, JPX, CCITT, JBIG2) are never decoded by the
   server (neither here, nor by text extraction, nor by watermarking), so only their general
   (Flate, ASCII) layers are measured.

Object streams and cross-reference streams are decoded by qpdf itself while opening the file;
they are bounded by the process limits (layer 1) only.

The xref must be sound: the file is opened with ``attempt_recovery=False`` and any warning qpdf
raises while reading it is damage. A truncated file with ``%%EOF`` appended used to be rebuilt by
qpdf from what was left and accepted — now it is refused (``pdf_truncated`` when the end of the
file has no ``startxref``, ``pdf_damaged`` otherwise).
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

# Run as a script under ``python -I`` (no script directory on the path): the project's root is put
# there so the worker's own modules — pure, no Django — can be imported.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meetings.pdf_decode import Refusal, decoded_size

ACTION_KEYS = ("/A", "/OpenAction", "/Next", "/PA")


def limit_process(cpu_seconds: int, memory_mb: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 2))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


# --- structure --------------------------------------------------------------------------------------

def _name(obj) -> str:
    import pikepdf

    return str(obj) if isinstance(obj, pikepdf.Name) else ""


def _scan_object(top, max_depth: int) -> None:
    """Check the nesting depth of ``top``'s direct objects and refuse the active content that is
    never accepted (JavaScript, launch actions, embedded files). Indirect children are scanned in
    their own turn (``pdf.objects`` lists every indirect object)."""
    import pikepdf

    stack = [(top, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > max_depth:
            raise Refusal("pdf_too_complex", what="depth", limit=max_depth)
        if isinstance(current, pikepdf.Array):
            children = list(current)
        elif isinstance(current, pikepdf.Dictionary | pikepdf.Stream):
            _refuse_active(current)
            children = [value for _key, value in current.items()]
        else:
            continue
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)
                     and not child.is_indirect)


def _refuse_active(obj) -> None:
    keys = set(obj.keys())
    kind = _name(obj.get("/S")) if "/S" in keys else ""
    if "/JS" in keys or kind == "/JavaScript":
        raise Refusal("pdf_javascript")
    if kind == "/Launch":
        raise Refusal("pdf_launch_action")
    obj_type = _name(obj.get("/Type")) if "/Type" in keys else ""
    subtype = _name(obj.get("/Subtype")) if "/Subtype" in keys else ""
    if "/EF" in keys or obj_type == "/EmbeddedFile" or subtype == "/FileAttachment":
        raise Refusal("pdf_embedded_files")


def _check_catalog(pdf) -> None:
    root = pdf.Root
    names = root.get("/Names")
    if names is not None:
        if "/JavaScript" in names:
            raise Refusal("pdf_javascript")
        if "/EmbeddedFiles" in names:
            raise Refusal("pdf_embedded_files")
    if "/AcroForm" in root and "/XFA" in root.AcroForm:
        raise Refusal("pdf_javascript", reason="xfa")


def _font_streams(font) -> tuple[list, list]:
    """A font's streams: (character maps text extraction parses — /ToUnicode and a CMap
    /Encoding, also of a Type0 font's descendants —, every stream including the font files)."""
    import pikepdf

    maps, others = [], []
    fonts = [font]
    descendants = font.get("/DescendantFonts")
    if isinstance(descendants, pikepdf.Array):
        fonts.extend(d for d in list(descendants)[:4] if isinstance(d, pikepdf.Dictionary))
    for item in fonts:
        for key in ("/ToUnicode", "/Encoding"):
            value = item.get(key)
            if isinstance(value, pikepdf.Stream):
                maps.append(value)
        descriptor = item.get("/FontDescriptor")
        if isinstance(descriptor, pikepdf.Dictionary):
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                value = descriptor.get(key)
                if isinstance(value, pikepdf.Stream):
                    others.append(value)
    return maps, others


def _page_streams(page, max_nodes: int):
    """The streams a page uses: its /Contents, the XObjects (forms transitively, images) and the
    fonts' streams, each once per page; and, apart, the fonts' character maps."""
    import pikepdf

    contents = page.get("/Contents")
    found = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    maps: list = []
    seen: set = set()
    queue = [page.get("/Resources")]
    while queue:
        resources = queue.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        fonts = resources.get("/Font")
        if isinstance(fonts, pikepdf.Dictionary):
            for _key, font in fonts.items():
                if not isinstance(font, pikepdf.Dictionary) or (font.objgen in seen and font.is_indirect):
                    continue
                if font.is_indirect:
                    seen.add(font.objgen)
                font_maps, font_files = _font_streams(font)
                maps.extend(font_maps)
                found.extend(font_maps)
                found.extend(font_files)
                if len(seen) > max_nodes:
                    raise Refusal("pdf_too_complex", what="forms", limit=max_nodes)
        xobjects = resources.get("/XObject")
        if not isinstance(xobjects, pikepdf.Dictionary):
            continue
        for _key, xobject in xobjects.items():
            if not isinstance(xobject, pikepdf.Stream):
                continue
            key = xobject.objgen
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > max_nodes:
                raise Refusal("pdf_too_complex", what="forms", limit=max_nodes)
            found.append(xobject)
            if _name(xobject.get("/Subtype")) == "/Form":
                queue.append(xobject.get("/Resources"))
    unique: dict = {}
    for stream in found:
        if isinstance(stream, pikepdf.Stream):
            unique.setdefault(stream.objgen if stream.is_indirect else id(stream), stream)
    map_keys = {m.objgen for m in maps if isinstance(m, pikepdf.Stream) and m.is_indirect}
    return list(unique.values()), [s for s in unique.values() if s.is_indirect and s.objgen in map_keys]


def _measure(pdf, limits: dict) -> int:
    """Every stream measured once against the per-stream limit; page content counted per page
    against the total."""
    import pikepdf

    cap, budget = limits["max_stream_bytes"], limits["max_decoded_bytes"]
    sizes: dict = {}

    def size_of(stream) -> int:
        key = stream.objgen
        if key not in sizes:
            sizes[key] = decoded_size(stream, cap)
        return sizes[key]

    total = 0
    text_maps, text_budget = 0, limits.get("max_text_map_bytes") or budget
    for page in pdf.pages:
        streams, maps = _page_streams(page.obj, limits["max_forms_per_page"])
        for stream in streams:
            total += size_of(stream)
            if total > budget:
                raise Refusal("pdf_decoded_too_large", limit=budget)
        for stream in maps:
            # Text extraction parses a page's character maps again for every page: bound that
            # work before it starts.
            text_maps += size_of(stream)
            if text_maps > text_budget:
                raise Refusal("pdf_too_complex", what="text_maps", limit=text_budget)
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and obj.objgen not in sizes:
            if _name(obj.get("/Type")) in ("/ObjStm", "/XRef"):
                continue  # decoded by qpdf when the file was opened
            total += size_of(obj)
            if total > budget:
                raise Refusal("pdf_decoded_too_large", limit=budget)
    return total


BOX_KEYS = ("/MediaBox", "/CropBox", "/TrimBox", "/BleedBox", "/ArtBox")


def _check_page_geometry(pdf) -> None:
    """Each page's boxes are four finite numbers enclosing some area, and /Rotate is a whole
    multiple of 90: anything else (``/Rotate /Ninety``, ``/TrimBox /X``) is a damaged page that
    viewers and the watermark each read their own way."""
    import math

    import pikepdf

    for number, page in enumerate(pdf.pages, start=1):
        obj = page.obj
        rotate = obj.get("/Rotate")
        if rotate is not None and (not isinstance(rotate, int) or rotate % 90):
            raise Refusal("pdf_damaged", reason="page_geometry", page=number)
        for key in BOX_KEYS:
            box = page.mediabox if key == "/MediaBox" else obj.get(key)
            if box is None and key != "/MediaBox":
                continue
            try:
                values = [float(v) for v in box] if isinstance(box, pikepdf.Array) and len(box) == 4 else None
            except (TypeError, ValueError):
                values = None
            if (values is None or not all(math.isfinite(v) for v in values)
                    or abs(values[2] - values[0]) < 1 or abs(values[3] - values[1]) < 1):
                raise Refusal("pdf_damaged", reason="page_geometry", page=number)


# --- text ------------------------------------------------------------------------------------------

def _annotation_texts(page) -> list[str]:
    """The ``/Contents`` of a page's annotations (a stamp added in a PDF editor carries its words
    there), each cut to a stamp's length: what ``find_secret_mark`` reads besides the page text."""
    texts = []
    annots = page.get("/Annots")
    for annot in annots if isinstance(annots, list) else []:
        try:
            contents = annot.get_object().get("/Contents")
        except Exception:  # noqa: S112 - a broken annotation has no words to read; the page text still counts
            continue
        if isinstance(contents, str):
            texts.append(str(contents)[:200])
    return texts


def extract_pages(path: str, pages: int, max_page_chars: int) -> tuple[list[str], tuple[str, int] | None]:
    """Each page's text, cut at ``max_page_chars`` (what is kept for "what changed"), and the first
    state-secret stamp found in the *whole* text of a page and its annotations' contents (padding a
    page with hidden text does not push a stamp out of sight). A page pypdf cannot read gives ""."""
    from pypdf import PdfReader

    from meetings.pdf_secrets import find_secret_mark

    reader = PdfReader(path)
    texts, found = [], None
    for index in range(pages):
        page = reader.pages[index]
        try:
            text = page.extract_text() or ""
        except Exception:  # a font or encoding pypdf does not understand: no text, not a refusal
            text = ""
        if found is None:
            mark = find_secret_mark(["\n".join([text, *_annotation_texts(page)])])
            found = (mark[0], index + 1) if mark else None
        texts.append(text[:max_page_chars])
    return texts, found


# --- the whole inspection --------------------------------------------------------------------------

def _open_error(path: str) -> str:
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 1024))
        tail = handle.read()
    return "pdf_damaged" if b"startxref" in tail else "pdf_truncated"


def inspect(path: str, limits: dict) -> dict:
    import pikepdf

    try:
        pdf = pikepdf.open(path, attempt_recovery=False)
    except pikepdf.PasswordError as exc:
        raise Refusal("pdf_encrypted") from exc
    except MemoryError:
        raise
    except Exception as exc:
        if "bad_alloc" in str(exc):
            raise MemoryError from exc
        raise Refusal(_open_error(path)) from exc
    with pdf:
        if pdf.is_encrypted:
            raise Refusal("pdf_encrypted")
        declared = int(pdf.trailer.get("/Size", 0))
        if declared > limits["max_objects"]:
            raise Refusal("pdf_too_complex", what="objects", limit=limits["max_objects"])
        pages = len(pdf.pages)
        if pages == 0:
            raise Refusal("pdf_damaged", reason="no_pages")
        if pages > limits["max_pages"]:
            raise Refusal("too_many_pages", pages=pages, limit=limits["max_pages"])
        objects = pdf.objects
        if len(objects) > limits["max_objects"]:
            raise Refusal("pdf_too_complex", what="objects", limit=limits["max_objects"])
        _check_catalog(pdf)
        for obj in objects:
            _scan_object(obj, limits["max_depth"])
        _check_page_geometry(pdf)
        decoded = _measure(pdf, limits)
        if pdf.get_warnings():
            raise Refusal("pdf_damaged")
    texts, found = extract_pages(path, pages, limits["max_page_chars"])
    text = "\n\f\n".join(texts)[: limits["max_text_chars"]]
    return {"pages": pages, "objects": len(objects), "decoded_bytes": decoded, "text": text,
            "secret_mark": found[0] if found else None, "secret_page": found[1] if found else None}


def main() -> None:
    request = json.loads(sys.stdin.read())
    limits = request["limits"]
    # The libraries are loaded before the limits are set: loading them is not the file's doing, and
    # under a tight address-space limit the loader's failure to map a shared library surfaces as an
    # ImportError that would pass for a damaged file. Everything after this line reads the file.
    import pikepdf  # noqa: F401
    import pypdf  # noqa: F401

    import meetings.pdf_secrets  # noqa: F401

    limit_process(limits["cpu_seconds"], limits["memory_mb"])
    try:
        answer = {"facts": inspect(request["path"], limits)}
    except Refusal as refusal:
        answer = {"refused": refusal.code, "params": refusal.params}
    except MemoryError:
        answer = {"refused": "pdf_inspection_memory", "params": {"limit": limits["memory_mb"]}}
    except RecursionError:
        answer = {"refused": "pdf_too_complex", "params": {"what": "depth", "limit": limits["max_depth"]}}
    except Exception as exc:  # any parser error on a hostile file is damage, never a crash
        if "bad_alloc" in str(exc):
            answer = {"refused": "pdf_inspection_memory", "params": {"limit": limits["memory_mb"]}}
        else:
            answer = {"refused": "pdf_damaged", "params": {"error": type(exc).__name__}}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
