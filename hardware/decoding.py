"""Decode barcodes in camera frames (JPEG or PNG bytes).

Handhelds whose browser has no BarcodeDetector send their camera frames here. Three decoders sit
behind one small interface (``Decoder``): zxing-cpp, pyzbar (libzbar) and OpenCV. Every one is
optional at run time: a missing Python package or native library makes ``available()`` false with
the reason, never an import error, so the service starts and its health says what it can decode.

Each result carries ``raw``: the string a keyboard-wedge scanner configured to send AIM symbology
identifiers would type for it, so the browser can hand a camera read to the same scan resolver as
a wedge scan. GS1 content gets its identifier (``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3``
GS1 QR) and keeps ASCII 29 (GS) where the symbol had an FNC1 separator; without the identifier the
resolver could not tell "0109506000134352" (a GTIN element string) from an internal code.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence

import numpy as np

GS = "\x1d"

# What a warehouse meets on the floor. Reading fewer symbologies is faster and leaves fewer
# chances of a misread (Codabar and the like false-positive on textured cardboard).
EXPECTED_FORMATS = ("code128", "ean13", "ean8", "upca", "upce", "qrcode", "datamatrix", "itf", "code39")

# Identifiers a wedge scanner sends for GS1 content, per format (ISO/IEC 15424).
GS1_IDENTIFIERS = {"code128": "]C1", "datamatrix": "]d2", "qrcode": "]Q3"}

# A frame larger than this is refused before it is decompressed: a small PNG can declare a huge
# canvas, and a 4K camera frame is the largest a handheld sends.
MAX_PIXELS = 4096 * 4096


class ImageError(ValueError):
    """The bytes are not a JPEG or PNG image we can decode."""


class DecoderUnavailable(RuntimeError):
    """The decoder asked for cannot run here (its library is missing)."""


@dataclass(frozen=True)
class Decoded:
    text: str  # the data as encoded (GS kept for GS1 content)
    format: str  # one of EXPECTED_FORMATS (or the library's name for anything else)
    raw: str  # what a keyboard-wedge scanner would type for it
    decoder: str
    gs1: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"raw": self.raw, "text": self.text, "format": self.format, "decoder": self.decoder}


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.available


class Decoder(Protocol):
    name: str

    def available(self) -> Availability: ...

    def decode(self, image: np.ndarray) -> list[Decoded]: ...


def wedge_raw(text: str, *, gs1: bool, format: str, identifier: str | None = None) -> str:
    """The string a wedge scanner would send: GS1 content behind its AIM identifier, anything else as is
    (scanners are usually set to send plain data, and the resolver reads plain codes)."""
    if not gs1:
        return text
    # The plain GS1 identifier of the format: what the resolver knows, whatever variant (ECI, DMRE) the
    # decoder reported.
    if format in GS1_IDENTIFIERS:
        return GS1_IDENTIFIERS[format] + text
    return (identifier if identifier and identifier.startswith("]") else "]C1") + text


# ---------------------------------------------------------------- images

def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG or JPEG header, without decompressing anything."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageError("The PNG image is truncated or has no header.")
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 4 <= len(data):
            if data[index] != 0xFF:
                raise ImageError("The JPEG image is corrupt (bad marker).")
            marker = data[index + 1]
            if marker == 0xFF:  # fill byte before a marker
                index += 1
                continue
            if marker in (0x01, *range(0xD0, 0xD8)):
                index += 2
                continue
            (length,) = struct.unpack(">H", data[index + 2:index + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                if index + 9 > len(data):
                    break
                height, width = struct.unpack(">HH", data[index + 5:index + 9])
                return width, height
            index += 2 + length
        raise ImageError("The JPEG image is truncated: no frame header.")
    raise ImageError("Not a JPEG or PNG image.")


def load_image(data: bytes) -> np.ndarray:
    """A grayscale frame from JPEG or PNG bytes (every decoder here works on luminance)."""
    import cv2

    width, height = image_size(data)
    if width == 0 or height == 0:
        raise ImageError("The image is empty (0 pixels wide or high).")
    if width * height > MAX_PIXELS:
        raise ImageError(f"The image is {width}x{height}; send at most {MAX_PIXELS} pixels (e.g. 1280x720).")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise ImageError("The image could not be decoded (corrupt or truncated).")
    return image


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        import cv2

        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


# ---------------------------------------------------------------- zxing-cpp

_ZXING_FORMATS = {"Code128": "code128", "EAN13": "ean13", "EAN8": "ean8", "UPCA": "upca", "UPCE": "upce",
                  "QRCode": "qrcode", "DataMatrix": "datamatrix", "ITF": "itf", "Code39": "code39",
                  "Code39Std": "code39", "Code39Ext": "code39"}


class ZxingCppDecoder:
    """zxing-cpp: reads every expected format including Data Matrix, reports the AIM identifier and
    whether the content is GS1 itself, and is the fastest here (bench/decode_frames.py)."""

    name = "zxing-cpp"

    def __init__(self, formats: Sequence[str] = EXPECTED_FORMATS, *, try_invert: bool = False) -> None:
        self.formats = tuple(formats)
        # Light-on-dark symbols (laser-etched parts) are rare on a warehouse floor; looking for them
        # doubles the work on every frame without a code, the common case while a camera is aimed.
        self.try_invert = try_invert
        self._module: Any = None
        self._formats: Any = None
        self._availability: Availability | None = None

    def available(self) -> Availability:
        if self._availability is None:
            try:
                import zxingcpp
            except ImportError as exc:
                self._availability = Availability(False, f"zxing-cpp is not installed ({exc})")
            else:
                self._module = zxingcpp
                names = {"code128": "Code128", "ean13": "EAN13", "ean8": "EAN8", "upca": "UPCA", "upce": "UPCE",
                         "qrcode": "QRCode", "datamatrix": "DataMatrix", "itf": "ITF", "code39": "Code39"}
                self._formats = zxingcpp.barcode_formats_from_str(",".join(names[f] for f in self.formats))
                self._availability = Availability(True)
        return self._availability

    def decode(self, image: np.ndarray) -> list[Decoded]:
        if not self.available():
            raise DecoderUnavailable(f"{self.name}: {self.available().reason}")
        z = self._module
        # Plain text mode keeps GS1 content as the symbol holds it (GS for FNC1), not "(01)..." text.
        barcodes = z.read_barcodes(_gray(image), formats=self._formats, text_mode=z.TextMode.Plain,
                                   try_invert=self.try_invert)
        results = []
        for found in _without_contradictions(barcodes):
            fmt = _ZXING_FORMATS.get(found.format.name, found.format.name.lower())
            gs1 = found.content_type == z.ContentType.GS1
            results.append(Decoded(found.text, fmt, wedge_raw(found.text, gs1=gs1, format=fmt,
                                                               identifier=found.symbology_identifier),
                                   self.name, gs1))
        return results


def _box(barcode: Any, margin: float = 12.0) -> tuple[float, float, float, float]:
    points = [barcode.position.top_left, barcode.position.top_right, barcode.position.bottom_right,
              barcode.position.bottom_left]
    xs, ys = [p.x for p in points], [p.y for p in points]
    return min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _without_contradictions(barcodes: Sequence[Any]) -> list[Any]:
    """Drop 1D reads that another read of the same format contradicts in the same place.

    Scan lines crossing a tilted 1D symbol now and then assemble a different code whose check digit
    happens to pass (bench/decode_frames.py saw a Code 128 and an EAN-13 misread next to the true
    read). Both reads come from one printed symbol, and which is right cannot be told from here, so
    neither is returned: the camera sends another frame within a fraction of a second, whereas a
    wrong item or bin taken for a right one costs a miscount.
    """
    doubtful: set[int] = set()
    for i, first in enumerate(barcodes):
        for j in range(i + 1, len(barcodes)):
            second = barcodes[j]
            if (first.format == second.format and first.text != second.text
                    and first.format.name not in ("QRCode", "DataMatrix")
                    and _overlap(_box(first), _box(second))):
                doubtful.update((i, j))
    return [barcode for index, barcode in enumerate(barcodes) if index not in doubtful]


# ---------------------------------------------------------------- pyzbar (libzbar)

_ZBAR_FORMATS = {"CODE128": "code128", "EAN13": "ean13", "EAN8": "ean8", "UPCA": "upca", "UPCE": "upce",
                 "QRCODE": "qrcode", "I25": "itf", "CODE39": "code39"}
ZBAR_MOD_GS1 = 1 << 0  # zbar_modifier_e ZBAR_MOD_GS1, a bit of zbar_symbol_get_modifiers()


def _fourcc(code: str) -> int:
    return sum(ord(char) << (8 * index) for index, char in enumerate(code))


class PyzbarDecoder:
    """zbar through pyzbar's ctypes bindings: 1D codes and QR, no Data Matrix.

    pyzbar's own ``decode`` drops what zbar knows about GS1 (the symbol modifiers), so the scan loop
    is driven here through its low-level wrapper, which also restricts zbar to the expected formats.
    """

    name = "pyzbar"

    def __init__(self, loader: Callable[[], Any] | None = None) -> None:
        self._loader = loader or self._load
        self._wrapper: Any = None
        self._modifiers: Any = None
        self._availability: Availability | None = None

    @staticmethod
    def _load() -> Any:
        import pyzbar.wrapper  # raises ImportError when libzbar is missing

        return pyzbar.wrapper

    def available(self) -> Availability:
        if self._availability is None:
            try:
                self._wrapper = self._loader()
            except (ImportError, OSError) as exc:
                self._availability = Availability(False, f"libzbar is not usable: {exc} "
                                                         "(install the libzbar0 system package)")
            else:
                try:  # zbar >= 0.23; older ones cannot say whether a symbol is GS1
                    self._modifiers = self._wrapper.zbar_function(
                        "zbar_symbol_get_modifiers", ctypes.c_uint, ctypes.POINTER(self._wrapper.zbar_symbol))
                except AttributeError:
                    self._modifiers = None
                self._availability = Availability(True)
        return self._availability

    def decode(self, image: np.ndarray) -> list[Decoded]:
        if not self.available():
            raise DecoderUnavailable(f"{self.name}: {self.available().reason}")
        w = self._wrapper
        gray = np.ascontiguousarray(_gray(image))
        height, width = gray.shape
        results: list[Decoded] = []
        scanner = w.zbar_image_scanner_create()
        zimage = w.zbar_image_create()
        try:
            w.zbar_image_scanner_set_config(scanner, 0, w.ZBarConfig.CFG_ENABLE, 0)
            for symbol in (w.ZBarSymbol.CODE128, w.ZBarSymbol.EAN13, w.ZBarSymbol.EAN8, w.ZBarSymbol.UPCA,
                           w.ZBarSymbol.UPCE, w.ZBarSymbol.QRCODE, w.ZBarSymbol.I25, w.ZBarSymbol.CODE39):
                w.zbar_image_scanner_set_config(scanner, symbol, w.ZBarConfig.CFG_ENABLE, 1)
            w.zbar_image_set_format(zimage, _fourcc("Y800"))
            w.zbar_image_set_size(zimage, width, height)
            pixels = gray.tobytes()
            w.zbar_image_set_data(zimage, ctypes.cast(pixels, ctypes.c_void_p), len(pixels), None)
            if w.zbar_scan_image(scanner, zimage) < 0:
                raise ImageError("zbar refused the image format")
            symbol = w.zbar_image_first_symbol(zimage)
            while symbol:
                kind = w.ZBarSymbol(symbol.contents.type).name
                fmt = _ZBAR_FORMATS.get(kind, kind.lower())
                data = ctypes.string_at(w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol))
                text = data.decode("utf-8", errors="replace")
                gs1 = bool(self._modifiers is not None and self._modifiers(symbol) & ZBAR_MOD_GS1)
                results.append(Decoded(text, fmt, wedge_raw(text, gs1=gs1, format=fmt), self.name, gs1))
                symbol = w.zbar_symbol_next(symbol)
        finally:
            w.zbar_image_destroy(zimage)
            w.zbar_image_scanner_destroy(scanner)
        return results


# ---------------------------------------------------------------- OpenCV

_OPENCV_FORMATS = {"CODE_128": "code128", "EAN_13": "ean13", "EAN_8": "ean8", "UPC_A": "upca", "UPC_E": "upce",
                   "CODE_39": "code39", "ITF": "itf"}


class OpenCVDecoder:
    """OpenCV's QR detector and, where the build has it, its 1D barcode detector. It cannot tell GS1
    content (no FNC1 information), so ``raw`` is the bare text."""

    name = "opencv"

    def __init__(self) -> None:
        self._local = threading.local()  # OpenCV detectors keep state; one per thread
        self._availability: Availability | None = None

    def available(self) -> Availability:
        if self._availability is None:
            try:
                import cv2
            except ImportError as exc:
                self._availability = Availability(False, f"OpenCV is not installed ({exc})")
            else:
                if not hasattr(cv2, "QRCodeDetector"):
                    self._availability = Availability(False, "this OpenCV build has no QRCodeDetector")
                else:
                    self._availability = Availability(True)
        return self._availability

    def _detectors(self) -> tuple[Any, Any]:
        if not hasattr(self._local, "qr"):
            import cv2

            self._local.qr = cv2.QRCodeDetector()
            barcode = getattr(cv2, "barcode", None)
            self._local.linear = barcode.BarcodeDetector() if barcode is not None else None
        return self._local.qr, self._local.linear

    def decode(self, image: np.ndarray) -> list[Decoded]:
        if not self.available():
            raise DecoderUnavailable(f"{self.name}: {self.available().reason}")
        gray = _gray(image)
        qr, linear = self._detectors()
        results = []
        ok, texts, _, _ = qr.detectAndDecodeMulti(gray)
        if ok:
            results += [Decoded(text, "qrcode", text, self.name) for text in texts if text]
        if linear is not None:
            ok, texts, kinds, _ = linear.detectAndDecodeWithType(gray)
            if ok:
                results += [Decoded(text, _OPENCV_FORMATS.get(kind, kind.lower()), text, self.name)
                            for text, kind in zip(texts, kinds) if text]
        return results


# ---------------------------------------------------------------- the registry

# Preference when the setting says "auto", from bench/decode_frames.py on a 1280x720 distorted set:
# zxing-cpp reads the most (and the only one reading Data Matrix) in the fewest milliseconds.
PREFERENCE = ("zxing-cpp", "pyzbar", "opencv")
AUTO = "auto"
CHOICES = (AUTO, *PREFERENCE)


@dataclass(frozen=True)
class DecoderStatus:
    name: str
    available: bool
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "available": self.available, "reason": self.reason}


class DecoderRegistry:
    """The decoders of this process and the one used by default."""

    def __init__(self, decoders: Iterable[Decoder] | None = None, *, preferred: str = AUTO) -> None:
        self.decoders: dict[str, Decoder] = {d.name: d for d in (decoders if decoders is not None else
                                                                 (ZxingCppDecoder(), PyzbarDecoder(),
                                                                  OpenCVDecoder()))}
        if preferred != AUTO and preferred not in self.decoders:
            raise ValueError(f"unknown decoder {preferred!r}; choose one of {', '.join(CHOICES)}")
        self.preferred = preferred

    def statuses(self) -> list[DecoderStatus]:
        return [DecoderStatus(name, bool(status := decoder.available()), status.reason)
                for name, decoder in self.decoders.items()]

    def default_name(self) -> str | None:
        """The decoder used when none is asked for, or None when it (or, on auto, every one) is missing."""
        if self.preferred != AUTO:
            return self.preferred if self.decoders[self.preferred].available() else None
        ranked = sorted(self.decoders, key=lambda name: PREFERENCE.index(name) if name in PREFERENCE else 99)
        return next((name for name in ranked if self.decoders[name].available()), None)

    def get(self, name: str | None = None) -> Decoder:
        """The named decoder, or the default; DecoderUnavailable (with the reason) when it cannot run."""
        if name is None:
            name = self.default_name()
            if name is None:
                if self.preferred != AUTO:
                    reason = self.decoders[self.preferred].available().reason
                    raise DecoderUnavailable(f"The configured decoder {self.preferred} is unavailable: {reason}")
                reasons = "; ".join(f"{s.name}: {s.reason}" for s in self.statuses())
                raise DecoderUnavailable(f"No barcode decoder is available ({reasons}).")
        if name not in self.decoders:
            raise DecoderUnavailable(f"Unknown decoder {name!r}.")
        decoder = self.decoders[name]
        status = decoder.available()
        if not status:
            raise DecoderUnavailable(f"The decoder {name} is unavailable: {status.reason}")
        return decoder


_registries: dict[str, DecoderRegistry] = {}
_registries_lock = threading.Lock()


def registry(preferred: str = AUTO) -> DecoderRegistry:
    """The process-wide registry for a preference (availability is probed once per process)."""
    with _registries_lock:
        if preferred not in _registries:
            _registries[preferred] = DecoderRegistry(preferred=preferred)
        return _registries[preferred]


def decode_frame(data: bytes, decoder: Decoder) -> list[Decoded]:
    """Decode JPEG/PNG bytes with ``decoder``; the same code read twice (QR and a retry) is listed once."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for found in decoder.decode(load_image(data)):
        if (found.format, found.raw) not in seen:
            seen.add((found.format, found.raw))
            unique.append(found)
    return unique
