"""``python manage.py verify_minutes FILE.pdf [--trust-root PEM ...] [--offline] [--json]``

Checks a sealed PDF (minutes, session resolution or correction): every signature (signer, time,
intact, covers the whole document, chain to the trust roots) and the embedded record (present, the
one the signed text refers to, valid Akoma Ntoso that matches the JSON). Unless ``--offline``, it
also checks against this system's database: the document was issued here and the audit chain still
holds the checkpoint printed in it. Exit code 0 only when everything holds, 1 otherwise, 2 when the
file cannot be read.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ecabinet import pki
from records.minutes.verify import check_against_database, verify_sealed_pdf


class Command(BaseCommand):
    help = "Verify the signatures and the embedded record of a sealed minutes/resolution PDF."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--trust-root", action="append", type=Path, default=None,
                            help="PEM file of a trusted root CA (repeatable); default SIGNING_TRUST_ROOTS")
        parser.add_argument("--offline", action="store_true",
                            help="do not compare with this system's database (issued documents, audit chain)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, file: Path, trust_root, offline: bool, json: bool, **options) -> None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}", returncode=2) from exc
        paths = trust_root or [p for p in settings.SIGNING_TRUST_ROOTS if Path(p).exists()]
        if not paths:
            raise CommandError("no trust roots: give --trust-root CA.pem or set SIGNING_TRUST_ROOTS", returncode=2)
        result = verify_sealed_pdf(data, trust_roots=pki.load_pem_certs(paths), tsa_roots=pki.tsa_roots_from_settings())
        if not offline:
            check_against_database(result)
        report = result.as_dict()
        if json:
            self.stdout.write(_json(report))
        else:
            self._print(file, report)
        if not result.ok:
            raise CommandError("verification FAILED", returncode=1)

    def _print(self, file: Path, report: dict) -> None:
        ok, fail = self.style.SUCCESS("OK  "), self.style.ERROR("FAIL")
        document = report["document"] or {}
        self.stdout.write(f"{file}: {document.get('title') or '?'} {document.get('number') or ''}")
        for sig in report["signatures"]:
            self.stdout.write(
                f"{ok if sig['ok'] else fail} signature {sig['field_name']}: {sig['signer']}, {sig['signing_time']}, "
                f"intact={sig['intact']} trusted={sig['trusted']} whole document={sig['covers_whole_document']}"
                f"{' timestamped' if sig['timestamped'] else ''}")
        record = report["record"]
        self.stdout.write(f"{ok if record['matches'] else fail} embedded record sha256 {record['sha256']}")
        checkpoint = record.get("audit_checkpoint") or {}
        if checkpoint:
            self.stdout.write(f"     audit checkpoint: entry {checkpoint.get('seq')} hash {checkpoint.get('hash')}")
        if report["database"] is not None:
            db = report["database"]
            self.stdout.write(f"{ok if db['issued_here'] else fail} issued by this system")
            self.stdout.write(f"{ok if db['audit_checkpoint_in_chain'] else fail} audit chain holds the checkpoint")
        for problem in report["problems"]:
            self.stdout.write(f"     problem: {problem}")
        self.stdout.write(self.style.SUCCESS("VALID") if report["ok"] else self.style.ERROR("NOT VALID"))


def _json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, default=str)
