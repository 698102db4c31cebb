"""Camera-frame decoding (hardware/decoding.py): each decoder reads what it claims to, from generated
1280x720 JPEG frames, and reports what a keyboard-wedge scanner would type; a missing native library
makes a decoder unavailable with a reason instead of breaking imports; hardware/ stays a leaf."""

from __future__ import annotations

import ast
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from hardware import decoding, synthetic
from hardware.decoding import (
    GS,
    DecoderRegistry,
    DecoderUnavailable,
    ImageError,
    OpenCVDecoder,
    PyzbarDecoder,
    ZxingCppDecoder,
    decode_frame,
    load_image,
)

HARDWARE = Path(__file__).resolve().parent.parent / "hardware"
SYMBOLS = {symbol.kind: symbol for symbol in synthetic.SYMBOLS}

# What each decoder claims to read. zbar has no Data Matrix. OpenCV's 1D detector does not read Code 128,
# cannot tell GS1 content and reads EAN-13 only in some clean frames (bench/decode_frames.py), so it
# claims QR only.
CLAIMS = {
    "zxing-cpp": ["code128", "ean13", "qrcode", "gs1-128", "gs1-datamatrix"],
    "pyzbar": ["code128", "ean13", "qrcode", "gs1-128"],
    "opencv": ["qrcode"],
}
CASES = [(name, kind) for name, kinds in CLAIMS.items() for kind in kinds]


def usable(name: str) -> decoding.Decoder:
    decoder = decoding.registry().decoders[name]
    status = decoder.available()
    if not status:
        pytest.skip(f"{name} is not available here: {status.reason}")
    return decoder


def jpeg_frame(kind: str | None, distortion: str = "none", seed: int = 7) -> bytes:
    return synthetic.encode(synthetic.frame(SYMBOLS[kind] if kind else None, distortion, seed=seed))


def test_hardware_imports_nothing_from_warehouse() -> None:
    modules = sorted(HARDWARE.rglob("*.py"))
    assert len(modules) >= 5
    offenders = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "warehouse"]
    assert not offenders


@pytest.mark.parametrize(("decoder_name", "kind"), CASES, ids=[f"{d}-{k}" for d, k in CASES])
def test_each_decoder_reads_what_it_claims_from_a_1280x720_jpeg(decoder_name: str, kind: str) -> None:
    decoder = usable(decoder_name)
    symbol = SYMBOLS[kind]
    found = decode_frame(jpeg_frame(kind), decoder)
    assert [code.text for code in found] == [symbol.expected_text]
    (code,) = found
    assert code.format == symbol.format
    assert code.decoder == decoder_name
    if decoder_name != "opencv":  # OpenCV cannot see FNC1, so it only claims the plain codes
        assert code.raw == symbol.expected_raw


def test_gs1_128_comes_out_as_a_wedge_scanner_types_it() -> None:
    (code,) = decode_frame(jpeg_frame("gs1-128"), usable("zxing-cpp"))
    assert code.raw.startswith("]C1")
    assert code.raw == "]C1" + "0109506000134352" + "10LOT42" + GS + "17281231"
    assert code.gs1


def test_gs1_datamatrix_keeps_its_identifier_and_separators() -> None:
    (code,) = decode_frame(jpeg_frame("gs1-datamatrix"), usable("zxing-cpp"))
    assert code.format == "datamatrix"
    assert code.raw == "]d2" + "0109506000134352" + "17290630" + "10VD-2501" + GS + "21SN77"


def test_zbar_also_says_gs1_128() -> None:
    (code,) = decode_frame(jpeg_frame("gs1-128"), usable("pyzbar"))
    assert code.raw.startswith("]C1") and GS in code.raw


def test_plain_codes_have_no_identifier_in_raw() -> None:
    for kind in ("code128", "ean13", "qrcode"):
        (code,) = decode_frame(jpeg_frame(kind), usable("zxing-cpp"))
        assert code.raw == code.text == SYMBOLS[kind].expected_text
        assert not code.gs1


@pytest.mark.parametrize("distortion", ["rotation", "blur", "perspective", "low-contrast", "noise"])
def test_the_default_decoder_reads_distorted_qr_and_datamatrix(distortion: str) -> None:
    decoder = decoding.registry().get()
    for kind in ("qrcode", "gs1-datamatrix"):
        found = decode_frame(jpeg_frame(kind, distortion, seed=3), decoder)
        assert [code.raw for code in found] == [SYMBOLS[kind].expected_raw], (kind, distortion)


@pytest.mark.parametrize("decoder_name", list(CLAIMS))
def test_a_frame_without_a_code_reads_nothing(decoder_name: str) -> None:
    assert decode_frame(jpeg_frame(None), usable(decoder_name)) == []


def test_png_frames_work_too() -> None:
    image = synthetic.frame(SYMBOLS["code128"], seed=2)
    (code,) = decode_frame(synthetic.encode(image, ".png"), usable("zxing-cpp"))
    assert code.text == "W1-A01-03"


# ---------------------------------------------------------------- images that are not frames

def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


@pytest.mark.parametrize(("data", "says"), [
    (b"", "Not a JPEG or PNG"),
    (b"GIF89a....", "Not a JPEG or PNG"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
    (png_header(100_000, 100_000), "at most"),
    (png_header(0, 10), "empty"),
    (png_header(640, 480) + b"IDATgarbage", "could not be decoded"),
])
def test_unusable_images_are_refused_with_a_reason(data: bytes, says: str) -> None:
    with pytest.raises(ImageError, match=says):
        load_image(data)


def test_a_truncated_jpeg_frame_is_refused_or_reads_nothing_made_up() -> None:
    """A frame cut short in transit: the header survives, so OpenCV may return a partly grey picture;
    either way no code other than the one in the frame comes out of it."""
    for cut in (300, 600, 5000):
        data = jpeg_frame("code128")[:cut]
        try:
            found = decode_frame(data, decoding.registry().get())
        except ImageError:
            continue
        assert all(code.text == "W1-A01-03" for code in found), cut


# ---------------------------------------------------------------- availability

def test_missing_libzbar_makes_pyzbar_unavailable_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    # What pyzbar raises when libzbar0 is not installed.
    monkeypatch.setitem(sys.modules, "pyzbar.wrapper", None)
    decoder = PyzbarDecoder()
    status = decoder.available()
    assert not status
    assert "libzbar" in (status.reason or "")
    with pytest.raises(DecoderUnavailable, match="libzbar"):
        decoder.decode(np.zeros((10, 10), np.uint8))


def test_the_registry_prefers_zxing_and_falls_back_when_a_library_is_missing() -> None:
    def missing() -> object:
        raise ImportError("Unable to find zbar shared library")

    broken = PyzbarDecoder(loader=missing)
    registry = DecoderRegistry([OpenCVDecoder(), broken, ZxingCppDecoder()])
    assert registry.default_name() == "zxing-cpp"
    statuses = {status.name: status for status in registry.statuses()}
    assert statuses["pyzbar"].available is False and "zbar" in (statuses["pyzbar"].reason or "")
    assert statuses["zxing-cpp"].available is True and statuses["zxing-cpp"].reason is None

    without_zxing = DecoderRegistry([OpenCVDecoder(), broken])
    assert without_zxing.default_name() == "opencv"


def test_a_configured_decoder_that_cannot_run_is_reported_not_replaced() -> None:
    def missing() -> object:
        raise OSError("libzbar.so.0: cannot open shared object file")

    registry = DecoderRegistry([ZxingCppDecoder(), PyzbarDecoder(loader=missing)], preferred="pyzbar")
    assert registry.default_name() is None
    with pytest.raises(DecoderUnavailable, match="pyzbar is unavailable: libzbar"):
        registry.get()
    assert registry.get("zxing-cpp").name == "zxing-cpp"


def test_an_unknown_preference_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown decoder"):
        DecoderRegistry(preferred="tesseract")


def test_the_setting_offers_exactly_the_registry_choices() -> None:
    from warehouse.config import SETTINGS

    (setting,) = [s for s in SETTINGS if s.env == "WAREHOUSE_DECODER"]
    for choice in decoding.CHOICES:
        assert setting.parse(choice) == choice
    with pytest.raises(ValueError):
        setting.parse("tesseract")


def test_contradicting_1d_reads_of_one_symbol_are_both_dropped() -> None:
    """Scan lines across a tilted 1D code can assemble a second, wrong code whose check digit passes;
    with two different reads in one place neither can be trusted, so the frame reads nothing."""
    from types import SimpleNamespace

    def read(text: str, fmt: str, x: float, y: float) -> SimpleNamespace:
        point = lambda px, py: SimpleNamespace(x=px, y=py)  # noqa: E731
        position = SimpleNamespace(top_left=point(x, y), top_right=point(x + 300, y),
                                   bottom_right=point(x + 300, y + 80), bottom_left=point(x, y + 80))
        return SimpleNamespace(text=text, format=SimpleNamespace(name=fmt), position=position)

    right, wrong = read("W1-A01-03", "Code128", 100, 100), read("WFyA01-07", "Code128", 110, 105)
    elsewhere = read("W1-A01-04", "Code128", 800, 500)
    twice = read("W1-A01-03", "Code128", 105, 102)
    qr_a, qr_b = read("A", "QRCode", 100, 100), read("B", "QRCode", 120, 100)
    kept = decoding._without_contradictions([right, wrong, elsewhere, twice, qr_a, qr_b])
    assert [r.text for r in kept] == ["W1-A01-04", "A", "B"]
    assert [r.text for r in decoding._without_contradictions([right, twice, elsewhere])] == \
        ["W1-A01-03", "W1-A01-03", "W1-A01-04"]
