"""Settings of signing (keys, PKCS#11 tokens, trust roots, timestamps, revocation) and of how the issuing
body is printed on the sealed minutes and resolutions (issue 5, docs/signing.md).
"""

import json
from pathlib import Path

from ecabinet.settings.environment import VAR_DIR, env, envbool

# Signing (issue 5, docs/signing.md). Keys: PKI_DIR/<username>.p12 made by ``manage.py init_dev_pki``, or, for
# the users in SIGNING_PKCS11_TOKENS, a key on a PKCS#11 token reached through SIGNING_PKCS11_MODULE (the token
# vendor's library, e.g. /usr/lib/softhsm/libsofthsm2.so). SIGNING_PKCS11_TOKENS is
# "username=token label:key label,..."; the key's certificate carries the key's label.
# Verification: signers chain to SIGNING_TRUST_ROOTS, timestamps to those or SIGNING_TSA_ROOTS (PEM files,
# comma-separated). With TSA_URL (an RFC 3161 service) signatures are PAdES B-LT: timestamped, with certificates
# and revocation data embedded: the CRL files in SIGNING_CRLS (PEM or DER; default the dev CA's), plus OCSP/CRLs
# fetched from the CAs when SIGNING_FETCH_REVOCATION is true.
PKI_DIR = Path(env("PKI_DIR", str(VAR_DIR / "pki")))
SIGNING_TRUST_ROOTS = [Path(p) for p in env("SIGNING_TRUST_ROOTS", "").split(",") if p.strip()] or [PKI_DIR / "ca.pem"]
SIGNING_TSA_ROOTS = [Path(p) for p in env("SIGNING_TSA_ROOTS", "").split(",") if p.strip()]
SIGNING_CRLS = [Path(p) for p in env("SIGNING_CRLS", "").split(",") if p.strip()] or [PKI_DIR / "ca.crl"]
SIGNING_FETCH_REVOCATION = envbool("SIGNING_FETCH_REVOCATION", "False")
SIGNING_PKCS11_MODULE = env("SIGNING_PKCS11_MODULE", "")


def _pkcs11_tokens(value: str) -> dict[str, dict[str, str]]:
    """ "pm=PM token:signing,secretary=..." -> {"pm": {"token": "PM token", "key": "signing"}, ...}"""
    tokens = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        username, _, labels = item.partition("=")
        token, _, key = labels.rpartition(":")
        if not (username.strip() and token.strip() and key.strip()):
            raise ValueError(f"SIGNING_PKCS11_TOKENS: expected “username=token label:key label”, got “{item}”")
        tokens[username.strip()] = {"token": token.strip(), "key": key.strip()}
    return tokens


SIGNING_PKCS11_TOKENS = _pkcs11_tokens(env("SIGNING_PKCS11_TOKENS", ""))
TSA_URL = env("TSA_URL", "")

# Minutes and resolutions (issue 5): how the issuing body is printed on sealed documents.
MINUTES_ISSUER = env("MINUTES_ISSUER", "Chính phủ")
MINUTES_ISSUER_PARENT = env("MINUTES_ISSUER_PARENT", "")
MINUTES_PLACE = env("MINUTES_PLACE", "Hà Nội")
# The legal citations of the voting rules and written ballots (issue 20, docs/legal.md): a JSON object, version
# id → the citation text that replaces the table's (voting/legal.py), e.g. once the Office of the Government
# confirms the 2025 articles. Checked at start-up (voting.E001); applies to results frozen from then on.
ECABINET_LEGAL_CITATIONS = json.loads(env("ECABINET_LEGAL_CITATIONS", "{}") or "{}")
MINUTES_SYMBOL = env("MINUTES_SYMBOL", "BB-CP")
RESOLUTION_SYMBOL = env("RESOLUTION_SYMBOL", "NQ-CP")
