"""SoftHSM2 tokens for development and tests: real PKCS#11 tokens, kept in a directory of our own.

A token made here holds a key pair generated on the token (the private key never leaves it), the
certificate the development CA issues for its public key, and the CA certificate, all under one label,
which is how ``ecabinet.pkcs11_tokens.pkcs11_signer`` finds them. SoftHSM2 reads ``SOFTHSM2_CONF`` (the file that
names its token directory) when the library is initialised, so a process must set that variable before
it first uses the library, or call :func:`reload_module` afterwards.

For development and tests only: the tokens are files protected by nothing but their PIN.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ecabinet import pki

# where Debian's softhsm2 package puts the module (the first one is a symlink to the second on amd64)
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
INSTALL_HINT = "install softhsm2: apt-get install -y softhsm2"
DEV_SO_PIN = "ecabinet-so-demo"


class SoftHsmError(RuntimeError):
    """SoftHSM2 is missing or refused to create a token."""


def find_softhsm_module() -> str | None:
    """The path of the SoftHSM2 PKCS#11 module, or None when SoftHSM2 is not installed."""
    if shutil.which("softhsm2-util") is None:
        return None
    return next((path for path in SOFTHSM_MODULES if Path(path).is_file()), None)


def write_config(directory: Path) -> Path:
    """A softhsm2.conf in ``directory`` whose tokens live in ``directory``/tokens; returns its path."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        encoding="utf-8",
    )
    return conf


def init_token(conf: Path, *, label: str, pin: str, so_pin: str = DEV_SO_PIN) -> None:
    """Initialise a new token called ``label`` in the first free slot of the SoftHSM2 set-up ``conf``."""
    if shutil.which("softhsm2-util") is None:
        raise SoftHsmError(f"softhsm2-util was not found; {INSTALL_HINT}")
    result = subprocess.run(  # noqa: S603 -- fixed program, arguments are ours
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],  # noqa: S607
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise SoftHsmError(f"softhsm2-util could not create the token “{label}”: {result.stderr or result.stdout}")


def reload_module(module: str) -> None:
    """Make this process see tokens created since it loaded ``module`` (SoftHSM2 lists them only at start).

    It finalises and re-initialises the library, which closes every session of this process: never call
    it while something else may be signing.
    """
    import pkcs11

    pkcs11.lib(module).reinitialize()


def provision_key(
    module: str,
    *,
    token_label: str,
    pin: str,
    key_label: str,
    ca_key,
    ca_cert: x509.Certificate,
    common_name: str,
    organization: str = pki.DEFAULT_ORG,
    key_type: str = "ec",
) -> x509.Certificate:
    """Generate a key pair (``"ec"``: P-256, ``"rsa"``: 2048 bits) on the token, have the CA certify it and
    store that certificate and the CA's on the token. Returns the new certificate."""
    import pkcs11
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
    from pkcs11.util.x509 import decode_x509_certificate

    key_id = key_label.encode()
    token = pkcs11.lib(module).get_token(token_label=token_label)
    with token.open(rw=True, user_pin=pin) as session:
        if key_type == "ec":
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            public, _ = params.generate_keypair(store=True, label=key_label, id=key_id)
            public_key = serialization.load_der_public_key(encode_ec_public_key(public))
        elif key_type == "rsa":
            public, _ = session.generate_keypair(KeyType.RSA, 2048, store=True, label=key_label, id=key_id)
            exponent = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
            public_key = rsa.RSAPublicNumbers(exponent, int.from_bytes(public[Attribute.MODULUS], "big")).public_key()
        else:
            raise ValueError(f"key_type must be 'ec' or 'rsa', not {key_type!r}")
        cert = pki.certify_public_key(
            ca_key, ca_cert, public_key, common_name=common_name, organization=organization
        )
        for label, object_id, certificate in ((key_label, key_id, cert), ("ca", b"ca", ca_cert)):
            attrs = decode_x509_certificate(certificate.public_bytes(serialization.Encoding.DER))
            attrs.update({Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: object_id})
            session.create_object(attrs)
    return cert
