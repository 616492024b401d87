"""``python manage.py init_dev_pki [--users u1 u2 ...] [--force]``: the development PKI.

Creates, once, a development root CA in PKI_DIR (ca.pem, ca-key.pem) and, for ``secretary``, ``pm`` and
every ``--users`` account, a signing key and certificate in PKI_DIR/<username>.p12 protected by the demo
PIN. Existing files are kept (idempotent); ``--force`` makes a new CA and reissues every key.

It also writes the CA's (empty) certificate revocation list, PKI_DIR/ca.crl, and renews it when it is
missing or about to expire: timestamped (B-LT) signatures embed it as the proof that the signer's
certificate was not revoked, and signing with TSA_URL set fails without a current one.
"""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from ecabinet import pki

DEFAULT_USERS = ["secretary", "pm"]


class Command(BaseCommand):
    help = "Create the development CA and PKCS#12 signing keys for the demo accounts (PIN in DESIGN.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", nargs="*", default=[], help="more usernames to issue keys for")
        parser.add_argument("--force", action="store_true", help="make a new CA and reissue every key")

    def handle(self, *args, users, force, **options) -> None:
        pki_dir = Path(settings.PKI_DIR)
        ca = None if force else pki.load_ca(pki_dir)
        new_ca = ca is None
        if new_ca:
            ca = pki.create_ca()
            pki.write_ca(pki_dir, *ca)
            self.stdout.write(f"created CA {pki.DEV_CA_NAME} ({pki.fingerprint(ca[1])[:16]}…)")
        ca_key, ca_cert = ca
        for username in dict.fromkeys(DEFAULT_USERS + list(users)):
            path = pki.p12_path(pki_dir, username)
            if path.exists() and not new_ca:
                continue
            cn, org = self._subject(username)
            key, cert = pki.issue_signing_cert(ca_key, ca_cert, common_name=cn, organization=org)
            pki.write_p12(path, key, cert, ca_cert)
            self.stdout.write(f"issued {path.name} for {cn}")
        if new_ca or pki.crl_needs_renewal(pki_dir):
            pki.write_crl(pki_dir, pki.issue_crl(ca_key, ca_cert))
            self.stdout.write(f"wrote {pki.CA_CRL_FILE} (valid {pki.CRL_DAYS} days)")
        self.stdout.write(self.style.SUCCESS(f"development PKI ready in {pki_dir}"))

    @staticmethod
    def _subject(username: str) -> tuple[str, str]:
        user = get_user_model().objects.filter(username=username).select_related("ministry").first()
        if user is None:
            return username, pki.DEFAULT_ORG
        org = user.ministry.name if user.ministry_id else pki.DEFAULT_ORG
        return user.get_full_name(), org
