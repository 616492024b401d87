"""Settings of the documents: their size, the PDF admission that cannot stall the service, and the bounded
"what changed" comparison of two versions (docs/limits.md, "PDF admission" and "Comparing versions").
"""

from ecabinet.settings.environment import BASE_DIR, env, envbool, envint

# Documents
DOCUMENT_MAX_BYTES = envint("DOCUMENT_MAX_MB", "50") * 1024 * 1024
DOCUMENT_MAX_PAGES = envint("DOCUMENT_MAX_PAGES", "2000")
# State secrets (Mật, Tối mật, Tuyệt mật) must not be stored on networked systems; the switch
# exists only for an isolated installation accredited for them.
ALLOW_STATE_SECRETS = envbool("ALLOW_STATE_SECRETS", "False")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
WATERMARK_FONT = env("WATERMARK_FONT", str(BASE_DIR / "static" / "fonts" / "DejaVuSans.ttf"))
# The in-app reader's own copy (issue 17, meetings/services/reader.py; docs/limits.md "Reader copies"): a read
# that finds another request of the same user making the copy waits at most READER_COPY_WAIT_SECONDS for it
# (then 503 copy_in_preparation); a claim older than READER_COPY_CLAIM_SECONDS (its request died) is taken over.
READER_COPY_WAIT_SECONDS = envint("READER_COPY_WAIT_SECONDS", "60")
READER_COPY_CLAIM_SECONDS = envint("READER_COPY_CLAIM_SECONDS", "180")
# A Range header longer than this, or with more than one range, is not honoured (416 / whole file).
READER_RANGE_HEADER_MAX = 200

# --- issue 14, area "pdf": PDF admission that cannot stall the service (docs/limits.md, "PDF admission") ---
# Uploaded files are spooled to disk above this size (Django's TemporaryFileUploadHandler), so a
# 50 MB upload is never held in memory; the PDF inspector is handed the file's path.
FILE_UPLOAD_MAX_MEMORY_SIZE = envint("FILE_UPLOAD_MAX_MEMORY_KB", "256") * 1024
# The inspector runs in a child process with these hard limits (RLIMIT_CPU, RLIMIT_AS, wall clock).
# Checking a real 50 MB / 2,000-page cabinet paper takes a few seconds and ~200 MB.
PDF_INSPECT_CPU_SECONDS = envint("PDF_INSPECT_CPU_SECONDS", "60")
PDF_INSPECT_TIMEOUT_SECONDS = envint("PDF_INSPECT_TIMEOUT_SECONDS", "90")
PDF_INSPECT_MEMORY_MB = envint("PDF_INSPECT_MEMORY_MB", "1024")
# Children at once per server process (each may use PDF_INSPECT_MEMORY_MB); others wait, then 503.
# Clamped to half of HTTP_MAX_CONCURRENCY (at least 1) so that inspections never hold every request thread.
PDF_INSPECT_CONCURRENCY = envint("PDF_INSPECT_CONCURRENCY", "2")
# --- issue 14, area "fix-pdf" (docs/limits.md, "PDF admission") ---
# How long an upload's request thread waits for an inspection slot before 503 pdf_inspection_busy,
# and the Retry-After it is told. Short: a waiting upload holds one of the HTTP_MAX_CONCURRENCY threads.
PDF_INSPECT_QUEUE_SECONDS = envint("PDF_INSPECT_QUEUE_SECONDS", "3")
PDF_INSPECT_RETRY_AFTER_SECONDS = envint("PDF_INSPECT_RETRY_AFTER_SECONDS", "30")
# Font character maps (ToUnicode, CMap encodings) decoded per page that uses them, in all: text
# extraction parses a shared map again for every page (~6 MB/s), so a map of 8 MB on 10 pages
# cost 14 s. A real subset font's map is a few KB; 2,000 pages x 4 fonts x 5 KB is 40 MB.
PDF_MAX_TEXT_MAP_BYTES = envint("PDF_MAX_TEXT_MAP_MB", "48") * 1024 * 1024
# --- end of area "fix-pdf" ---
# Bounds checked while the file is read. A page of text is tens of KB decoded; a 600 dpi A4 scan
# ~35 MB; 2,000 pages of ordinary text ~200 MB in all.
PDF_MAX_STREAM_BYTES = envint("PDF_MAX_STREAM_MB", "64") * 1024 * 1024
PDF_MAX_DECODED_BYTES = envint("PDF_MAX_DECODED_MB", "1024") * 1024 * 1024
PDF_MAX_OBJECTS = envint("PDF_MAX_OBJECTS", "500000")
PDF_MAX_DEPTH = envint("PDF_MAX_DEPTH", "100")
PDF_MAX_FORMS_PER_PAGE = envint("PDF_MAX_FORMS_PER_PAGE", "2000")
# Text kept from the pages (for "what changed" comparisons) and read per page for the secrecy stamp.
PDF_MAX_TEXT_CHARS = envint("PDF_MAX_TEXT_CHARS", "4000000")
PDF_MAX_PAGE_TEXT_CHARS = envint("PDF_MAX_PAGE_TEXT_CHARS", "50000")
# --- end of area "pdf" ---

# --- issue 14, area "compare": "what changed" between two versions at a bounded cost (docs/limits.md,
# "Comparing versions") ---
# Lines of each version's text that are compared (blank ones count); 100,000 is some 2,000 pages.
COMPARE_MAX_LINES = envint("COMPARE_MAX_LINES", "100000")
# Work of the line matcher for one comparison, in positions visited (~0.1 s per million here). Real
# drafts use a few thousand; past it the regions left are shown whole (removed, then added).
COMPARE_MAX_WORK = envint("COMPARE_MAX_WORK", "2000000")
# Changed lines listed (the first ones); the added/removed counts are always complete.
COMPARE_MAX_CHANGES = envint("COMPARE_MAX_CHANGES", "2000")
# How long a comparison stays in the cache (the text of a version never changes).
COMPARE_CACHE_SECONDS = envint("COMPARE_CACHE_SECONDS", "86400")
# --- end of area "compare" ---
