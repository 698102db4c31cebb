"""One normaliser for every raw scan, whatever produced it.

Two kinds of readers feed the service:

- Keyboard-wedge scanners type what they read. Depending on their configuration the data starts
  with an AIM symbology identifier (ISO/IEC 15424: ``]``, a symbology character and a modifier,
  e.g. ``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]E0`` EAN-13), FNC1 arrives as ASCII 29 (GS),
  some send the FNC1 that opens a GS1 symbol as a leading GS, and the suffix key adds CR, LF or Tab.
- Camera decoders in the browser hand over the data without a prefix and with GS kept.

``normalize`` turns either into a ``NormalizedScan``: the payload (GS kept, because it separates
GS1 element strings), the symbology identifier if one was sent, and whether it says GS1.
"""

from __future__ import annotations

from dataclasses import dataclass

from biip import ParseError
from biip.symbology import GS1Symbology, SymbologyIdentifier

from warehouse.errors import InvalidInput

GS = "\x1d"

# Only these are stripped from the ends. Not str.strip(): Python counts GS (and FS, RS, US) as
# whitespace, and a GS must survive until we have looked at it.
SUFFIX_WHITESPACE = " \t\r\n"

# Textual stand-ins for GS that some wedge configurations and label-printer previews emit. They are
# replaced because every one of them contains a character ({ } [ ] \) outside GS1 character set 82,
# so no GS1 element string can contain them, and our own codes (badges, bins, SKUs, aliases allow
# letters, digits and . _ : / + - only) cannot either: replacing them never changes a valid scan.
# "<GS>" is deliberately NOT replaced: "<", ">" and letters are all in character set 82, so "<GS>"
# may be genuine data inside a lot or serial number.
GS_STAND_INS = ("{GS}", "[GS]", "\\x1d", "\\x1D", "\\u001d", "\\u001D")

# Symbologies whose data is GS1 element strings (or, in DataMatrix and QR, a GS1 Digital Link).
GS1_DATA_SYMBOLOGIES = frozenset(GS1Symbology.with_gs1_messages()) | {
    GS1Symbology.GS1_COMPOSITE_WITH_SEPARATOR_CHAR, GS1Symbology.GS1_COMPOSITE_WITH_ESCAPE_CHAR}
# Symbologies that carry one bare GTIN: EAN-13/UPC-A/UPC-E, EAN-8, ITF-14.
GTIN_SYMBOLOGIES = frozenset(GS1Symbology.with_gtin())


class ScanError(InvalidInput):
    """A scan that cannot be interpreted. ``reason`` is a stable code clients and the scan log use.

    It is an ``InvalidInput`` so that an uncaught one answers 422 with ``errors: {"raw": [...]}`` and
    a ``reason`` member."""

    EMPTY = "empty"
    MALFORMED = "malformed"
    BAD_CHECK_DIGIT = "bad_check_digit"
    UNKNOWN_AI = "unknown_ai"
    BAD_DATE = "bad_date"
    AMBIGUOUS = "ambiguous"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"raw: {message}", errors={"raw": [message]}, reason=reason)
        self.reason = reason
        self.message = message
        # The payload after normalisation, when the scan got that far (the scan log keeps it).
        self.normalized: str | None = None


@dataclass(frozen=True)
class NormalizedScan:
    payload: str
    """The data itself: no symbology identifier, no leading FNC1, no suffix; GS kept as separator."""

    symbology: str | None = None
    """The AIM symbology identifier as sent, e.g. ``]C1``; None when the reader sent none."""

    gs1_symbology: GS1Symbology | None = None
    """biip's reading of the identifier when it is one used in the GS1 system."""

    leading_fnc1: bool = False
    """The data opened with GS: the scanner transmitted the FNC1 that marks a GS1 symbol."""

    @property
    def gs1(self) -> bool:
        """The symbology identifier says the data is GS1 element strings (or a GS1 Digital Link)."""
        return self.gs1_symbology in GS1_DATA_SYMBOLOGIES

    @property
    def carries_gtin(self) -> bool:
        """The symbology identifier says the data is one bare GTIN (EAN/UPC, ITF-14)."""
        return self.gs1_symbology in GTIN_SYMBOLOGIES

    @property
    def outside_gs1(self) -> bool:
        """A symbology identifier was sent and names a symbology that is not GS1 (Code 39, plain
        Code 128, plain QR...): its data may still be a GTIN someone printed, but it is no GS1 message."""
        return self.symbology is not None and self.gs1_symbology is None


def _symbology_identifier(text: str) -> SymbologyIdentifier:
    try:
        identifier = SymbologyIdentifier.extract(text)
    except (ParseError, IndexError, ValueError):
        identifier = None
    # ISO/IEC 15424 modifiers are ASCII letters and digits; anything else means the "]" was not the
    # start of an identifier (and "]" is in no code we or GS1 issue, so it is no data either).
    if identifier is None or not (identifier.modifiers.isascii() and identifier.modifiers.isalnum()):
        raise ScanError(ScanError.MALFORMED, f"The scan starts with {text[:4]!r}, which is not a valid "
                                             "AIM symbology identifier (like ]C1 or ]E0).")
    return identifier


def normalize(raw: str) -> NormalizedScan:
    """The payload of a raw scan, its symbology and whether that says GS1. Raises ``ScanError``
    (``empty`` or ``malformed``) when there is no data or the data contains control characters."""
    text = raw.strip(SUFFIX_WHITESPACE)
    identifier: SymbologyIdentifier | None = None
    if text.startswith("]"):
        identifier = _symbology_identifier(text)
        text = text[len(identifier.value):]
    for stand_in in GS_STAND_INS:
        text = text.replace(stand_in, GS)
    payload = text.lstrip(GS)
    leading_fnc1 = len(payload) != len(text)
    # A trailing GS separates nothing; some scanners send one after the last variable-length field.
    payload = payload.rstrip(GS).strip(SUFFIX_WHITESPACE)
    if not payload:
        what = f"only the symbology identifier {identifier.value}" if identifier else "no data"
        raise ScanError(ScanError.EMPTY, f"The scan holds {what}.")
    for character in payload:
        if character != GS and (ord(character) < 0x20 or ord(character) == 0x7F):
            raise ScanError(ScanError.MALFORMED, f"The scan contains the control character "
                                                 f"U+{ord(character):04X}; only GS (U+001D) may separate fields.")
    return NormalizedScan(payload=payload, symbology=identifier.value if identifier else None,
                          gs1_symbology=identifier.gs1_symbology if identifier else None,
                          leading_fnc1=leading_fnc1)
