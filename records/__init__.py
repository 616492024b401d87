"""After the session: the records a session leaves (issue 5, issue 16 item 2).

The minutes — drafting (``minutes.drafting``), finalising, signing and sealing (``minutes.sealing``,
``minutes.keys``), rendering as PDF/A-3b (``minutes.render``) and verifying (``minutes.verify``) —,
the session resolution and corrections; PAdES signing and its verification (``signing``,
``signature_verify``, ``signature_certs``); the session record and its Akoma Ntoso form
(``record``, ``record_akn``); the BagIt archive of a closed session (``archive``). Screens are in
``views`` and ``urls``, the API in ``minutes.api``, ``archive_api`` and ``api_urls``.

This app sits above ``meetings`` and ``voting``: it reads sessions and votes and never the other way
round (nothing in ``meetings`` or ``voting`` imports ``records``).

The models stay in ``meetings`` (``meetings/models/minutes.py``: ``Minutes``, ``MinutesComment``,
``SealedDocument``, ``SignatureStep``): their tables, migrations, content types and the guardian and
audit references to them keep the ``meetings`` label. Moving them here would be a database
migration, which this move deliberately is not; ``records`` imports ``meetings.models``.
"""
