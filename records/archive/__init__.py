"""Archive packages of closed sessions (issue 5, item 7): BagIt bags that verify themselves.

* ``export`` — ``build_bag``, ``zip_bag``, ``export_zip``, ``export_archive``, ``archive_access``;
* ``verify`` — ``verify_bag`` (offline: no database, no network) and its ``Report``;
* ``chain`` — the audit chain proof, ``sha256`` — the resumable SHA-256 it rests on;
* ``bagdir`` / ``bagcheck`` — writing and checking the BagIt layer; ``tables`` — the vote CSVs;
* ``layout`` — where everything is in a bag (docs/archive.md describes it for people).
"""
