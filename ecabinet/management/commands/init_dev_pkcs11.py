"""``python manage.py init_dev_pkcs11 [--users u1 u2 ...]``: SoftHSM2 signing tokens for the demo.

For each user (default ``pm``) a SoftHSM2 token ``ecabinet-<username>`` in PKI_DIR/softhsm, unlocked by the
demo PIN, holding a key pair generated on the token and its certificate from the development CA (run
``init_dev_pki`` first). Existing tokens are kept. It prints the environment the server needs to sign with
them (SOFTHSM2_CONF, SIGNING_PKCS11_MODULE, SIGNING_PKCS11_TOKENS). Development only.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ecabinet import pkcs11_dev, pki

KEY_LABEL = "signing"


class Command(BaseCommand):
    help = "Create SoftHSM2 tokens with signing keys from the development CA (PIN in DESIGN.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", nargs="+", default=["pm"], help="usernames to make a token for")

    def handle(self, *args, users, **options) -> None:
        module = pkcs11_dev.find_softhsm_module()
        if module is None:
            raise CommandError(f"SoftHSM2 is not installed; {pkcs11_dev.INSTALL_HINT}")
        pki_dir = Path(settings.PKI_DIR)
        ca = pki.load_ca(pki_dir)
        if ca is None:
            raise CommandError("There is no development CA yet: run “manage.py init_dev_pki” first.")
        conf = pkcs11_dev.write_config(pki_dir / "softhsm")
        # SoftHSM2 finds its tokens through this variable, read when this process loads the library.
        os.environ["SOFTHSM2_CONF"] = str(conf)
        import pkcs11

        existing = {token.label for token in pkcs11.lib(module).get_tokens()}
        new = [username for username in users if f"ecabinet-{username}" not in existing]
        for username in new:
            pkcs11_dev.init_token(conf, label=f"ecabinet-{username}", pin=pki.DEMO_PIN)
        if new:
            pkcs11_dev.reload_module(module)
        for username in new:
            cert = pkcs11_dev.provision_key(
                module, token_label=f"ecabinet-{username}", pin=pki.DEMO_PIN, key_label=KEY_LABEL,
                ca_key=ca[0], ca_cert=ca[1], common_name=username,
            )
            fingerprint = pki.fingerprint(cert)[:16]
            self.stdout.write(f"token ecabinet-{username}: key “{KEY_LABEL}”, certificate {fingerprint}…")
        tokens = ",".join(f"{username}=ecabinet-{username}:{KEY_LABEL}" for username in users)
        self.stdout.write(self.style.SUCCESS("SoftHSM2 tokens ready; start the server with:"))
        self.stdout.write(f"SOFTHSM2_CONF={conf}\nSIGNING_PKCS11_MODULE={module}\nSIGNING_PKCS11_TOKENS={tokens}")
