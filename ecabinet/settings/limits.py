"""Settings of issue 14's limits: request bodies before authentication, the client address of the
per-address throttle, rates per account, and the bounds of the room's snapshots and events (docs/limits.md).
"""

from django.core.exceptions import ImproperlyConfigured

from ecabinet.settings.documents import DATA_UPLOAD_MAX_MEMORY_SIZE, DOCUMENT_MAX_BYTES
from ecabinet.settings.environment import env, envint

# --- Request limits, before authentication (issue 14 point 5; area "http"; docs/limits.md) -------
# Every HTTP request body is capped while it streams in, in the server itself (hotpath.daphne_guard,
# before Twisted buffers it) and in front of the ASGI application (ecabinet.http_limits): a
# Content-Length over the cap is answered 413 at once, a chunked body is cut at the cap.
# The cap: HTTP_MAX_BODY_BYTES for every request (JSON and forms); HTTP_MAX_UPLOAD_BODY_BYTES for a
# multipart upload to a document, version or ballot-document upload (a PDF of DOCUMENT_MAX_BYTES
# plus the form around it); HTTP_MAX_TEXT_BODY_BYTES for saving the minutes' text (a whole minutes
# form, percent-encoded Vietnamese takes up to 9 bytes a character).
HTTP_MAX_BODY_BYTES = envint("HTTP_MAX_BODY_BYTES", str(1024 * 1024))
HTTP_MAX_UPLOAD_BODY_BYTES = envint("HTTP_MAX_UPLOAD_BODY_BYTES", str(DOCUMENT_MAX_BYTES + 1024 * 1024))
HTTP_MAX_TEXT_BODY_BYTES = envint("HTTP_MAX_TEXT_BODY_BYTES", str(DATA_UPLOAD_MAX_MEMORY_SIZE))
# A vote ({"choice": "yes"}) is a few dozen bytes: the vote intake (hotpath.intake) refuses more than this.
HTTP_MAX_VOTE_BODY_BYTES = envint("HTTP_MAX_VOTE_BODY_BYTES", "4096")
# After a 413 the server reads (and throws away) what the client goes on sending for this long, so
# that the client reads the answer instead of a reset connection; then it closes the connection.
HTTP_REFUSED_BODY_LINGER_SECONDS = envint("HTTP_REFUSED_BODY_LINGER_SECONDS", "5")
# A JSON body (API, vote intake) nests at most JSON_MAX_DEPTH levels and holds at most JSON_MAX_ITEMS
# values in all (object members and array items at any depth): 400 json_too_deep / json_too_many_fields.
JSON_MAX_DEPTH = envint("JSON_MAX_DEPTH", "32")
JSON_MAX_ITEMS = envint("JSON_MAX_ITEMS", "1000")
# Django's own bounds on form bodies (urlencoded and multipart): fields, and files in one request.
DATA_UPLOAD_MAX_NUMBER_FIELDS = envint("DATA_UPLOAD_MAX_NUMBER_FIELDS", "1000")
DATA_UPLOAD_MAX_NUMBER_FILES = envint("DATA_UPLOAD_MAX_NUMBER_FILES", "10")
# --- end of request limits ----------------------------------------------------------------------

# --- Issue 14, area "fix-http": the client address of the API's per-address throttle (login) -----
# How many proxies stand in front of Daphne. 0: the address is REMOTE_ADDR. Behind the cluster's
# nginx set 1: the last X-Forwarded-For entry (the one nginx wrote) is the address. Unset, DRF used
# the whole header, which the caller writes: a fresh login budget per forged header (docs/limits.md).
API_NUM_PROXIES = envint("API_NUM_PROXIES", "0")
# GET /api/v1/meetings/{id}/minutes/ lists the newest MINUTES_COMMENTS_PAGE comments on the draft,
# with their count (comments_total); older ones page with ?comments_before=<id>.
MINUTES_COMMENTS_PAGE = envint("MINUTES_COMMENTS_PAGE", "100")
# --- end of area "fix-http" ---------------------------------------------------------------------

# --- Rate and volume limits per account (issue 14, area "rate"; docs/limits.md, ecabinet/limits.py) ---
# Fixed-window counters per account in Django's cache (CACHES in ecabinet.settings: Redis, shared by every
# Daphne process, when REDIS_URL is set, else this process's memory). The numbers are far
# above what an honest minister does (docs/limits.md gives the reasoning); 0 switches a limit off.
# Refused requests answer 429 rate_limited with Retry-After; the room socket closes with 4429.
RATE_COMMENTS_PER_MINUTE = envint("RATE_COMMENTS_PER_MINUTE", "20")  # comments posted or edited
RATE_COMMENTS_PER_HOUR = envint("RATE_COMMENTS_PER_HOUR", "300")
RATE_COMMENT_CHARS_PER_HOUR = envint("RATE_COMMENT_CHARS_PER_HOUR", "200000")  # characters of those comments
# Annotations written, changed or deleted (issue 17): a minister highlighting line after line while reading.
RATE_ANNOTATIONS_PER_MINUTE = envint("RATE_ANNOTATIONS_PER_MINUTE", "60")
RATE_ANNOTATIONS_PER_HOUR = envint("RATE_ANNOTATIONS_PER_HOUR", "1000")
RATE_SPEAKING_PER_MINUTE = envint("RATE_SPEAKING_PER_MINUTE", "20")  # requests to speak and withdrawals
RATE_POSITIONS_PER_MINUTE = envint("RATE_POSITIONS_PER_MINUTE", "60")
RATE_UPLOADS_PER_HOUR = envint("RATE_UPLOADS_PER_HOUR", "300")  # documents, versions, ballot drafts
RATE_UPLOAD_MB_PER_HOUR = envint("RATE_UPLOAD_MB_PER_HOUR", "2048")  # their request bodies, in MiB
RATE_VOTES_PER_MINUTE = envint("RATE_VOTES_PER_MINUTE", "60")
RATE_BALLOT_ANSWERS_PER_MINUTE = envint("RATE_BALLOT_ANSWERS_PER_MINUTE", "60")
RATE_WS_MESSAGES_PER_MINUTE = envint("RATE_WS_MESSAGES_PER_MINUTE", "120")  # resume/ping on the room socket
RATE_WS_CONNECTS_PER_MINUTE = envint("RATE_WS_CONNECTS_PER_MINUTE", "60")  # room sockets opened
# Room sockets open at once per account (all sessions, all processes): beyond, the OLDEST is closed
# with 4409, so a tablet reconnecting over a dying connection is never the one shut out.
WS_MAX_SOCKETS_PER_ACCOUNT = envint("WS_MAX_SOCKETS_PER_ACCOUNT", "8")
# Room-socket handshakes doing their work (authentication, access, snapshot, presence) at once per
# Daphne process (hotpath.admission); the others wait their turn, first in, first out, within
# Daphne's handshake timeout (deploy/daphne_process.py, HANDSHAKE_TIMEOUT_SECONDS). A queue, not a
# refusal: a reconnect storm of 1,000 tablets is answered in order (issue 19, docs/limits.md).
WS_ADMISSION_CONCURRENCY = envint("WS_ADMISSION_CONCURRENCY", "8")
# Handshakes waiting for one of those places per process; beyond, refused at once with 4429 "busy
# retry_after=N", N between WS_ADMISSION_RETRY_SECONDS and twice that (spread, so that the refused do
# not all come back together). 2,000 is what one process answers within the 60 s handshake timeout
# (15-35 ms of CPU each, docs/limits.md): a longer line would be dropped by the timeout anyway.
WS_ADMISSION_QUEUE = envint("WS_ADMISSION_QUEUE", "2000")
WS_ADMISSION_RETRY_SECONDS = envint("WS_ADMISSION_RETRY_SECONDS", "10")
# --- end of rate limits ---

# --- Issue 14, area "room": bounded snapshots and events (docs/limits.md § Room) ----------------
# Daphne (autobahn) refuses to send a WebSocket message over 1 MiB (its websocket_max_message_size
# default, which applies to outgoing messages too: the socket then closes with 1011). Any frame the
# room sends is kept under ROOM_FRAME_MAX_BYTES; a snapshot larger than that goes in parts
# ("snapshot.part", docs/protocol.md §2). Half of Daphne's 1 MiB.
ROOM_FRAME_MAX_BYTES = envint("ROOM_FRAME_MAX_BYTES", str(512 * 1024))
# The snapshot carries the newest comments of each agenda item, this many; the older ones come over
# HTTP (GET /api/v1/agenda-items/{id}/comments/?before=<id>).
ROOM_SNAPSHOT_COMMENTS_PER_ITEM = envint("ROOM_SNAPSHOT_COMMENTS_PER_ITEM", "10")
# One page of GET /api/v1/agenda-items/{id}/comments/ holds at most this many comments.
ROOM_COMMENTS_PAGE_MAX = envint("ROOM_COMMENTS_PAGE_MAX", "50")
# Characters in one comment (a remark in the room; written opinions on ballots are longer).
COMMENT_MAX_CHARS = envint("COMMENT_MAX_CHARS", "4000")
# Characters in a longer explanatory text: an agenda item's description, a motion's text, a written
# ballot's explanation for the members (a page or two of a draft's summary).
DESCRIPTION_MAX_CHARS = envint("DESCRIPTION_MAX_CHARS", "10000")
# Agenda items in one session, documents on one agenda item, participants of one session: what a
# government session needs many times over (an online conference of the Government with the 63
# provinces has some 120 participants), and what bounds the room's frames: with 200 participants the
# largest event (vote.tally, speaker.queue) stays under 62 % of ROOM_FRAME_MAX_BYTES even with every
# name at its longest. More is possible (the benchmarks run 1,000): the system check
# meetings.W001 then says which frames could outgrow the budget with pathological names.
MEETING_MAX_AGENDA_ITEMS = envint("MEETING_MAX_AGENDA_ITEMS", "40")
AGENDA_ITEM_MAX_DOCUMENTS = envint("AGENDA_ITEM_MAX_DOCUMENTS", "20")
MEETING_MAX_PARTICIPANTS = envint("MEETING_MAX_PARTICIPANTS", "200")
# Turns one person may have on the speakers' list of one item (waiting, speaking or done): a bound
# on what one member can add to the record of an item (requests to speak are also rate-limited).
SPEAK_MAX_TURNS_PER_ITEM = envint("SPEAK_MAX_TURNS_PER_ITEM", "30")
# The queue a tablet is sent (snapshot and speaker.queue): every waiting turn and the one speaking
# (at most one each per participant), and only the latest this many finished turns, with the count
# of all of them ("spoken"). Bounds the frame whatever the length of the debate.
SPEAK_QUEUE_DONE_SHOWN = envint("SPEAK_QUEUE_DONE_SHOWN", "10")
# --- end of area "room" ------------------------------------------------------------------------

# --- Issue 17: annotations on documents (docs/limits.md § Annotations; meetings/services/annotations.py) ---
# What one annotation may hold: the text anchored to (a highlight's selection, the line nearest a
# drawing or a note), the rectangles of a highlight, the strokes of a drawing and their points. A note's
# text is bounded like a comment's (COMMENT_MAX_CHARS).
ANNOTATION_MAX_QUOTE_CHARS = envint("ANNOTATION_MAX_QUOTE_CHARS", "1000")
ANNOTATION_MAX_RECTS = envint("ANNOTATION_MAX_RECTS", "200")
ANNOTATION_MAX_STROKES = envint("ANNOTATION_MAX_STROKES", "50")
ANNOTATION_MAX_POINTS = envint("ANNOTATION_MAX_POINTS", "5000")
# Live annotations one person keeps on one version of one document (all visibilities), and what they
# weigh in all (coordinates — 2 per point, 4 per rectangle — plus characters of text and quote): what one
# person can make everyone who lists that version's annotations read, fetch and keep offline (some 2 MB
# of JSON at most), and what carrying forward copies for them. A full drawing weighs 10,000.
ANNOTATION_MAX_PER_USER_VERSION = envint("ANNOTATION_MAX_PER_USER_VERSION", "500")
ANNOTATION_MAX_WEIGHT_PER_USER_VERSION = envint("ANNOTATION_MAX_WEIGHT_PER_USER_VERSION", "200000")
# A drawing of ANNOTATION_MAX_POINTS points is some 15,000 JSON values: the annotation endpoints accept
# this many values in a body instead of JSON_MAX_ITEMS (every other endpoint keeps JSON_MAX_ITEMS).
ANNOTATION_JSON_MAX_ITEMS = envint("ANNOTATION_JSON_MAX_ITEMS", "16000")
# Carrying annotations forward to a new version searches each one's quote in the new version's text,
# inside the upload's transaction: at most this many characters of text are searched in all; the
# annotations left when it is spent are carried "unplaced" (nothing is lost; the reader asks where).
ANNOTATION_CARRY_MAX_SEARCH_CHARS = envint("ANNOTATION_CARRY_MAX_SEARCH_CHARS", "500000000")
# ... and at most this many for one author's annotations: made-up quotes (each a full search of the text)
# spend their author's share, not the placing of everyone else's.
ANNOTATION_CARRY_MAX_SEARCH_CHARS_PER_AUTHOR = envint("ANNOTATION_CARRY_MAX_SEARCH_CHARS_PER_AUTHOR", "50000000")
# --- end of issue 17's annotations ---
# --- Issue 17, area "offline": sessions kept on the tablet (docs/offline.md; docs/limits.md "Offline") ---
# GET /api/v1/offline/ lists at most OFFLINE_MAX_SESSIONS sessions (those a person may keep now, the
# soonest first); a closed session may still be kept for OFFLINE_CLOSED_DAYS days after it closed, then
# the tablets delete it at their next contact.
OFFLINE_MAX_SESSIONS = envint("OFFLINE_MAX_SESSIONS", "20")
OFFLINE_CLOSED_DAYS = envint("OFFLINE_CLOSED_DAYS", "7")
# --- end of area "offline" -------------------------------------------------------------------------

# --- Issue 18: decision follow-up tasks (followup/, docs/limits.md "Decision follow-up tasks") ------
# A task's title (the assignment in one sentence) and a reason given for returning, extending or
# cancelling it; the description is DESCRIPTION_MAX_CHARS like every explanatory text.
TASK_TITLE_MAX_CHARS = envint("TASK_TITLE_MAX_CHARS", "500")
TASK_REASON_MAX_CHARS = envint("TASK_REASON_MAX_CHARS", "2000")
# Co-operating ministries of one task (the Government has 22 ministries and agencies, plus others).
TASK_MAX_CO_MINISTRIES = envint("TASK_MAX_CO_MINISTRIES", "30")
# Tasks assigned by one session (or one written ballot): a monthly session assigns some 60 to 100.
TASKS_PER_SESSION_MAX = envint("TASKS_PER_SESSION_MAX", "500")
# A deadline lies at most this many days ahead (five years: a plan of a Government's term).
TASK_DEADLINE_MAX_DAYS = envint("TASK_DEADLINE_MAX_DAYS", "1830")
# GET /api/v1/tasks/: the default and the largest page.
TASKS_PAGE_SIZE = envint("TASKS_PAGE_SIZE", "50")
TASKS_PAGE_MAX = envint("TASKS_PAGE_MAX", "200")
# Reports of a task (followup/reports.py; docs/limits.md "Progress reports and attachments"): the text of
# one report, the PDFs attached to it (each admitted like a session document, DOCUMENT_MAX_BYTES and
# DOCUMENT_MAX_PAGES) and their bytes together (the request's body is the upload cap,
# HTTP_MAX_UPLOAD_BODY_BYTES, whatever this says), and the reports one task keeps (the list shows all).
TASK_REPORT_TEXT_MAX_CHARS = envint("TASK_REPORT_TEXT_MAX_CHARS", "10000")
TASK_REPORT_MAX_ATTACHMENTS = envint("TASK_REPORT_MAX_ATTACHMENTS", "5")
TASK_REPORT_MAX_BYTES = envint("TASK_REPORT_MAX_BYTES", str(DOCUMENT_MAX_BYTES))
TASK_REPORTS_MAX = envint("TASK_REPORTS_MAX", "200")
# Writes to tasks through the API (every POST under /api/v1/tasks/: assign, transitions, reports), per
# account (ecabinet.limits scope "task_writes"); a report with files also counts as an upload.
RATE_TASK_WRITES_PER_MINUTE = envint("RATE_TASK_WRITES_PER_MINUTE", "30")
RATE_TASK_WRITES_PER_HOUR = envint("RATE_TASK_WRITES_PER_HOUR", "600")
# The follow-up PDF report (/tasks/report.pdf), rendered on demand: per account, per minute (each
# render also takes one of the process's slots for slow PDF work, meetings.pdfcheck.work_slot).
RATE_PDF_REPORTS_PER_MINUTE = envint("RATE_PDF_REPORTS_PER_MINUTE", "6")
# The dashboard (/tasks/dashboard/, docs/followup.md): months in the chart (by deadline month), the
# window of "due soon", and the sessions offered in its filter.
DASHBOARD_MONTHS = envint("DASHBOARD_MONTHS", "12")
DASHBOARD_DUE_SOON_DAYS = envint("DASHBOARD_DUE_SOON_DAYS", "7")
DASHBOARD_SESSION_CHOICES = envint("DASHBOARD_SESSION_CHOICES", "100")
# /tasks/export.csv: at most this many rows (the filtered register, earliest deadline first); a
# larger register is cut, and the last line of the file says so.
TASKS_EXPORT_MAX_ROWS = envint("TASKS_EXPORT_MAX_ROWS", "30000")
# /tasks/report.pdf: the overdue tasks listed by name (the most overdue first); the figures count all.
TASKS_REPORT_MAX_OVERDUE = envint("TASKS_REPORT_MAX_OVERDUE", "200")
# The preparation screen's proposed item: the most overdue tasks of earlier sessions it names.
TASKS_PROPOSED_ITEM_LIST = envint("TASKS_PROPOSED_ITEM_LIST", "10")
# --- end of issue 18 -------------------------------------------------------------------------------
# --- Issue 18 §3: reminders and overdue notices of tasks (followup.schedule; docs/followup.md
# "Deadlines, reminders and notices"; docs/limits.md "Decision follow-up tasks") ---------------------
# Reminders go this many days before a task's deadline (comma-separated, each sent once per deadline;
# "7,1": a week before and the day before); the overdue notice goes the day after the deadline.
_remind_days = [d.strip() for d in env("TASK_REMIND_DAYS_BEFORE", "7,1").split(",") if d.strip()]
if not all(d.isdigit() and 1 <= int(d) <= 365 for d in _remind_days):
    raise ImproperlyConfigured("TASK_REMIND_DAYS_BEFORE: whole days from 1 to 365, comma-separated, e.g. 7,1")
TASK_REMIND_DAYS_BEFORE = tuple(sorted({int(d) for d in _remind_days}, reverse=True))
# The secretariat's digest of newly overdue tasks names at most this many (then "and N more").
TASK_OVERDUE_DIGEST_MAX_LINES = envint("TASK_OVERDUE_DIGEST_MAX_LINES", "30")
# --- end of issue 18 §3 ----------------------------------------------------------------------------
