"""PAdES signing of PDFs with pyHanko (no ORM; the network only to reach a TSA), and the rules by which
``records.signature_verify`` verifies them.

Rules:
- Every signature is added as an incremental update: the bytes already signed are never rewritten.
  The signature is PAdES (``/SubFilter /ETSI.CAdES.detached``) over SHA-256.
- Without a ``timestamper`` the signature is PAdES B-B. With one it is PAdES B-LT: the signature carries an
  RFC 3161 timestamp, and the revision that holds it also holds a DSS (Document Security Store) with the
  certificates of the signer and of the timestamp authority and the revocation data (CRLs, OCSP responses)
  showing that none was revoked. The DSS goes into the signature's own revision, before the bytes are
  signed, so the last signature still covers the whole file (no trailing DSS-only revision). Before
  signing, both chains are validated against the given roots with revocation data required: a revoked,
  expired or unknown certificate fails, and so does a TSA that does not answer. Nothing is returned then.
- A document verifies (``Report.ok``) only when it has at least one signature, every signature is intact
  (its digest matches the bytes it covers) and cryptographically valid, every signer's certificate chains
  to one of the given trust roots, no signature's later modifications are disallowed, every timestamp
  present is intact and chains to a trusted root, and the LAST signature covers the entire file. So any
  byte changed in signed content, and any incremental update appended after the last signature, make it
  fail. A signature without a timestamp is not a failure (B-B is allowed); the report says what it has.
- Verification never fetches anything (``allow_fetching=False``): the trust roots are given by the caller.
  ``ltv`` on a signature means it validates, at the time of its timestamp, from the revocation data and
  certificates embedded in the file alone (pyHanko's ETSI EN 319 102-1 "validation with time").
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper, TimestampRequestError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
)

__all__ = ["Appearance", "SigningFailed", "add_signature_fields", "as_asn1_certificate", "as_asn1_crl", "sign_pdf",
           "stamp_font", "timestamper_from_settings"]


class SigningFailed(Exception):
    """The document could not be signed; the message is meant for the user."""


def timestamper_from_settings() -> TimeStamper | None:
    """An RFC 3161 client for ``settings.TSA_URL``, or None when no TSA is configured."""
    from django.conf import settings

    return HTTPTimeStamper(settings.TSA_URL) if settings.TSA_URL else None


@dataclass(frozen=True)
class Appearance:
    """Where and how a signature shows on the page: a stamp in ``box`` (x1, y1, x2, y2 in PDF points,
    origin bottom left) of page ``page`` (0-based), its text in the TrueType font at ``font_path``
    (embedded as a subset, so the file stays PDF/A and Vietnamese prints). ``%(signer)s`` is the
    certificate holder's name, ``%(ts)s`` the signing time."""

    page: int
    box: tuple[float, float, float, float]
    font_path: str
    text: str = "Ký bởi: %(signer)s\nThời gian ký: %(ts)s"


STAMP_FONT_FAMILY = "e-Cabinet Stamp"


# What a stamp may need to write (the signer's name from the certificate, the role, the date): the
# Latin scripts with Vietnamese, Greek and Cyrillic, punctuation, currency and letter-like symbols.
STAMP_UNICODES = [*range(0x20, 0x530), *range(0x1E00, 0x2000), *range(0x2000, 0x20D0), *range(0x2100, 0x2190)]


def stamp_font(path: str) -> str:
    """``path`` made into the stamp's font once, in the temporary directory: 1000 units per em, and
    only the glyphs of ``STAMP_UNICODES``.

    pyHanko (0.38) writes a CID font's /W widths in the font's own units, which PDF reads as
    thousandths of an em: with DejaVu's 2048 units every glyph would be twice as wide as drawn. And
    it subsets the whole font again for every signature: DejaVu Sans's 6,000 glyphs and their layout
    tables took 230 ms of each signature's 350 (bench ``minutes``); the stamp's 1,500 glyphs without
    layout tables or hinting take a tenth of that. The copy is renamed, as the Bitstream Vera /
    DejaVu licence asks of modified fonts."""
    import hashlib
    import os
    import tempfile
    from pathlib import Path

    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    source = Path(path).read_bytes()
    target = Path(tempfile.gettempdir()) / f"ecabinet-stamp-v3-{hashlib.sha256(source).hexdigest()[:16]}.ttf"
    if target.exists():
        return str(target)
    font = TTFont(io.BytesIO(source))
    if font["head"].unitsPerEm != 1000:
        scale_upem(font, 1000)
    options = subset.Options()
    options.name_IDs, options.name_languages, options.notdef_outline = ["*"], ["*"], True
    # No layout tables: the stamp's text is NFC (a Vietnamese letter is one glyph, its marks drawn
    # in), and kerning at 8 pt is not worth reading GPOS's pairs again for every signature.
    options.layout_features, options.hinting = [], False
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=STAMP_UNICODES)
    subsetter.subset(font)
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(STAMP_FONT_FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName("eCabinetStamp", record.nameID, record.platformID, record.platEncID, record.langID)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    font.save(str(partial))
    os.replace(partial, target)
    return str(target)


def _stamp(appearance: Appearance):
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    font = GlyphAccumulatorFactory(stamp_font(appearance.font_path))
    return TextStampStyle(
        stamp_text=appearance.text, timestamp_format="%d/%m/%Y %H:%M:%S %z", border_width=1, background=None,
        text_box_style=TextBoxStyle(font=font, font_size=8, leading=10),
    )


def add_signature_fields(data: bytes, places: list[tuple[str, int, tuple[int, int, int, int]]]) -> bytes:
    """``data`` with empty signature fields ``(name, page, box)`` added in one incremental update.

    Made before the first signature, the fields are part of what the first (certifying) signature
    covers, so filling them later is the permitted "fill in a signature field", not a new annotation."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    for name, page, box in places:
        fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name=name, on_page=page, box=box))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _has_field(writer, name: str) -> bool:
    return any(field_name == name for field_name, _value, _ref in fields.enumerate_sig_fields(writer))


def sign_pdf(
    data: bytes,
    *,
    signer: signers.Signer,
    field_name: str,
    reason: str,
    location: str,
    certify: bool = False,
    timestamper: TimeStamper | None = None,
    trust_roots: Sequence | None = None,
    crls: Sequence = (),
    allow_fetching: bool = False,
    appearance: Appearance | None = None,
) -> bytes:
    """``data`` with one more PAdES signature by ``signer`` in the (new or empty) field ``field_name``.

    With ``timestamper`` the signature is B-LT (see the module docstring): ``trust_roots`` (cryptography or
    asn1crypto certificates) must then hold the roots of the signer's and of the TSA's chains, ``crls``
    (cryptography or asn1crypto CRLs, or DER bytes) the revocation lists to embed, and ``allow_fetching``
    lets pyHanko fetch OCSP responses and CRLs from the URLs in the certificates as well.
    With ``appearance`` the signature is visible: a stamp in a new field at that place.
    Raises SigningFailed, with a message for the user, when the document cannot be signed.
    """
    ltv = timestamper is not None
    if ltv and not trust_roots:
        raise ValueError("sign_pdf: a timestamped (B-LT) signature needs the trust_roots of signer and TSA")
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        embed_validation_info=ltv,
        validation_context=(
            ValidationContext(
                trust_roots=[as_asn1_certificate(c) for c in trust_roots],
                crls=[as_asn1_crl(c) for c in crls],
                allow_fetching=allow_fetching,
                # B-LT is only worth its name if every certificate's revocation status is embedded.
                revocation_mode="require",
            )
            if ltv
            else None
        ),
        # include_vri=False is required to put the DSS in the signed revision; the VRI dictionary is
        # deprecated by PAdES anyway.
        dss_settings=DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False),
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        if appearance is None:
            out = signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper)
        else:
            spec = None if _has_field(writer, field_name) else fields.SigFieldSpec(
                sig_field_name=field_name, on_page=appearance.page, box=appearance.box)
            out = signers.PdfSigner(meta, signer, timestamper=timestamper, stamp_style=_stamp(appearance),
                                    new_field_spec=spec).sign_pdf(writer)
    except TimestampRequestError as exc:
        raise SigningFailed(
            "The timestamp service did not answer, so the document was not signed. Try again in a moment;"
            " if it keeps failing, ask the administrator to check the timestamp service (TSA_URL)."
        ) from exc
    except (PathBuildingError, PathValidationError) as exc:
        # raised while validating the TSA's certificate (the signer's comes wrapped in a SigningError)
        problem = _certificate_problem(exc, "the timestamp service")
        raise SigningFailed(f"The document was not signed: {problem}") from exc
    except SigningError as exc:
        if isinstance(exc.__cause__, PathBuildingError | PathValidationError):
            problem = _certificate_problem(exc.__cause__, "your signing key")
            raise SigningFailed(f"The document was not signed: {problem}") from exc
        raise SigningFailed(f"The PDF could not be signed: {exc}") from exc
    except ValueError as exc:
        raise SigningFailed(f"The PDF could not be signed: {exc}") from exc
    return out.getvalue()


def _certificate_problem(exc: Exception, whose: str) -> str:
    if isinstance(exc, RevokedError):
        return f"the certificate of {whose} has been revoked."
    if isinstance(exc, ExpiredError):
        return f"the certificate of {whose} has expired."
    if isinstance(exc, NotYetValidError):
        return f"the certificate of {whose} is not valid yet."
    if isinstance(exc, InsufficientRevinfoError):
        return (
            f"there is no current revocation list (CRL) or OCSP answer for the certificate of {whose}, so the"
            " signature could not be made verifiable in the long term. Ask the administrator (for the"
            " development CA: run “manage.py init_dev_pki”)."
        )
    if isinstance(exc, PathBuildingError):
        return f"the certificate of {whose} was not issued by a trusted certification authority."
    return f"the certificate of {whose} could not be validated ({exc})."


def as_asn1_certificate(cert) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, bytes):
        return asn1_x509.Certificate.load(cert)
    from cryptography.hazmat.primitives.serialization import Encoding

    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def as_asn1_crl(crl) -> asn1_crl.CertificateList:
    if isinstance(crl, asn1_crl.CertificateList):
        return crl
    if isinstance(crl, bytes):
        return asn1_crl.CertificateList.load(crl)
    from cryptography.hazmat.primitives.serialization import Encoding

    return asn1_crl.CertificateList.load(crl.public_bytes(Encoding.DER))
