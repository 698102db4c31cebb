"""Synthetic camera frames for tests and the decoding benchmark.

A symbol is drawn the way it would be printed (python-barcode for the linear codes, zxing-cpp's
writer for QR and Data Matrix, which python-barcode cannot draw), pasted onto a 1280x720 frame of
textured "cardboard", then degraded the way a handheld camera degrades it. Everything is seeded, so
a failing frame can be regenerated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

FRAME_WIDTH, FRAME_HEIGHT = 1280, 720
FNC1 = "\xf1"  # python-barcode's FNC1 character inside a GS1-128 code


@dataclass(frozen=True)
class Symbol:
    kind: str  # code128, ean13, qrcode, gs1-128, gs1-datamatrix
    content: str  # what goes into the symbol (GS1: element strings, "\x1d" between them)
    expected_text: str  # what a decoder must report as text
    expected_raw: str  # what it must report as raw (wedge form)
    format: str  # the decoder's format name


def _python_barcode(kind: str, code: str) -> np.ndarray:
    import barcode
    from barcode.writer import ImageWriter

    drawn = barcode.get(kind, code, writer=ImageWriter()).render(
        {"module_width": 0.254, "module_height": 15.0, "dpi": 300, "quiet_zone": 4.0, "write_text": False})
    return np.asarray(drawn.convert("L"))


def _zxing(content: str, format_name: str, *, gs1: bool = False, square: bool = False) -> np.ndarray:
    import zxingcpp

    # Square Data Matrix: the common print on goods (zxing-cpp otherwise picks a rectangular DMRE).
    kwargs = {**({"gs1": True} if gs1 else {}), **({"forceSquare": True} if square else {})}
    created = zxingcpp.create_barcode(content, getattr(zxingcpp.BarcodeFormat, format_name), **kwargs)
    return np.asarray(created.to_image(scale=1, add_quiet_zones=True))


def draw(symbol: Symbol) -> np.ndarray:
    """The symbol as printed, grayscale uint8, at its natural size (one module per pixel for 2D)."""
    if symbol.kind == "code128":
        return _python_barcode("code128", symbol.content)
    if symbol.kind == "ean13":
        return _python_barcode("ean13", symbol.content[:12])
    if symbol.kind == "gs1-128":
        return _python_barcode("gs1_128", symbol.content.replace("\x1d", FNC1))
    if symbol.kind == "qrcode":
        return _zxing(symbol.content, "QRCode")
    if symbol.kind == "gs1-datamatrix":
        return _zxing(_gs1_human(symbol.content), "DataMatrix", gs1=True, square=True)
    raise ValueError(f"unknown symbol kind {symbol.kind}")


def _gs1_human(element_strings: str) -> str:
    """'(01)...(10)...' from '01...10...' with GS separators, as zxing-cpp's GS1 writer wants it.
    Only the AIs the test symbols use are known here."""
    lengths = {"00": 18, "01": 14, "17": 6, "11": 6}
    out, rest = [], element_strings
    while rest:
        ai = rest[:2]
        if ai in lengths:
            out.append(f"({ai}){rest[2:2 + lengths[ai]]}")
            rest = rest[2 + lengths[ai]:]
        else:
            value, _, rest = rest[2:].partition("\x1d")
            out.append(f"({ai}){value}")
    return "".join(out)


SYMBOLS = (
    Symbol("code128", "W1-A01-03", "W1-A01-03", "W1-A01-03", "code128"),
    Symbol("ean13", "4006381333931", "4006381333931", "4006381333931", "ean13"),
    Symbol("qrcode", "SSCC-PALLET-0042 W1-DOCK", "SSCC-PALLET-0042 W1-DOCK", "SSCC-PALLET-0042 W1-DOCK", "qrcode"),
    Symbol("gs1-128", "0109506000134352" "10LOT42\x1d" "17281231", "0109506000134352" "10LOT42\x1d" "17281231",
           "]C1" "0109506000134352" "10LOT42\x1d" "17281231", "code128"),
    Symbol("gs1-datamatrix", "0109506000134352" "17290630" "10VD-2501\x1d" "21SN77",
           "0109506000134352" "17290630" "10VD-2501\x1d" "21SN77",
           "]d2" "0109506000134352" "17290630" "10VD-2501\x1d" "21SN77", "datamatrix"),
)


def _background(rng: np.random.Generator) -> np.ndarray:
    """Uneven light on cardboard: a gradient plus low-frequency blotches."""
    import cv2

    yy, xx = np.mgrid[0:FRAME_HEIGHT, 0:FRAME_WIDTH].astype(np.float32)
    base = 150 + 40 * (xx / FRAME_WIDTH) - 25 * (yy / FRAME_HEIGHT)
    blotches = cv2.resize(rng.normal(0, 12, (9, 16)).astype(np.float32), (FRAME_WIDTH, FRAME_HEIGHT),
                          interpolation=cv2.INTER_CUBIC)
    return base + blotches


def _place(symbol_image: np.ndarray, rng: np.random.Generator, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The frame with the symbol pasted near its centre, and the symbol's corner points."""
    import cv2

    # Handheld framing: an operator holds the camera so that a 1D module covers about 2.5-3.5 pixels
    # (python-barcode draws a module as 0.254 mm at 300 dpi: exactly 3 pixels) and a 2D code fills about
    # a third of the height; nobody reads a code that runs off the screen.
    if kind in ("qrcode", "gs1-datamatrix"):
        scale = int(rng.uniform(0.30, 0.42) * FRAME_HEIGHT) / symbol_image.shape[0]
    else:
        scale = float(rng.uniform(2.5, 3.5)) / 3
    scale = min(scale, 0.92 * FRAME_WIDTH / symbol_image.shape[1], 0.8 * FRAME_HEIGHT / symbol_image.shape[0])
    interpolation = cv2.INTER_NEAREST if kind in ("qrcode", "gs1-datamatrix") else cv2.INTER_AREA
    resized = cv2.resize(symbol_image, None, fx=scale, fy=scale, interpolation=interpolation)
    height, width = resized.shape
    frame = _background(rng)
    top = (FRAME_HEIGHT - height) // 2 + int(rng.integers(-40, 41))
    left = (FRAME_WIDTH - width) // 2 + int(rng.integers(-80, 81))
    top, left = max(0, min(top, FRAME_HEIGHT - height)), max(0, min(left, FRAME_WIDTH - width))
    # White label paper, printed black, a little grey like real thermal print.
    frame[top:top + height, left:left + width] = 30 + resized.astype(np.float32) * (215 / 255)
    corners = np.float32([[left, top], [left + width, top], [left + width, top + height], [left, top + height]])
    return frame, corners


def _rotate(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    # Held sideways or upside down, and never quite straight. A 1D code read by horizontal scan lines
    # tolerates only the tilt its bar height allows, as with any scanner's aiming line.
    angle = float(rng.choice([0, 90, 180]) + rng.choice([-1, 1]) * rng.uniform(4, 10))
    matrix = cv2.getRotationMatrix2D((FRAME_WIDTH / 2, FRAME_HEIGHT / 2), angle, 1.0)
    return cv2.warpAffine(frame, matrix, (FRAME_WIDTH, FRAME_HEIGHT), borderMode=cv2.BORDER_CONSTANT,
                          borderValue=float(frame.mean()))


def _blur(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(frame, (0, 0), sigmaX=float(rng.uniform(0.8, 1.3)))


def _perspective(frame: np.ndarray, rng: np.random.Generator, corners: np.ndarray) -> np.ndarray:
    import cv2

    shift = corners.copy()
    width = float(corners[1, 0] - corners[0, 0])
    # The label seen from the side: one edge closer to the lens than the other.
    # Seen about 20-35 degrees off axis: the far edge 10-20 % shorter than the near one.
    squeeze = float(rng.uniform(0.05, 0.10)) * min(float(corners[3, 1] - corners[0, 1]), width)
    if rng.random() < 0.5:
        shift[1, 1] += squeeze
        shift[2, 1] -= squeeze
    else:
        shift[0, 1] += squeeze
        shift[3, 1] -= squeeze
    matrix = cv2.getPerspectiveTransform(corners, shift)
    return cv2.warpPerspective(frame, matrix, (FRAME_WIDTH, FRAME_HEIGHT), borderMode=cv2.BORDER_CONSTANT,
                               borderValue=float(frame.mean()))


def _low_contrast(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    span = float(rng.uniform(0.25, 0.35))
    return 128 + (frame - 128) * span


def _noise(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return frame + rng.normal(0, float(rng.uniform(6, 12)), frame.shape)


DISTORTIONS: dict[str, Callable[..., np.ndarray]] = {
    "none": lambda frame, rng, corners: frame,
    "rotation": lambda frame, rng, corners: _rotate(frame, rng),
    "blur": lambda frame, rng, corners: _blur(frame, rng),
    "perspective": _perspective,
    "low-contrast": lambda frame, rng, corners: _low_contrast(frame, rng),
    "noise": lambda frame, rng, corners: _noise(frame, rng),
}


def frame(symbol: Symbol | None, distortion: str = "none", *, seed: int = 0) -> np.ndarray:
    """A 1280x720 grayscale frame holding ``symbol`` (None: no code at all), distorted."""
    rng = np.random.default_rng(seed)
    if symbol is None:
        image, corners = _background(rng), np.float32([[540, 260], [740, 260], [740, 460], [540, 460]])
    else:
        image, corners = _place(draw(symbol), rng, symbol.kind)
    image = DISTORTIONS[distortion](image, rng, corners)
    return np.clip(image, 0, 255).astype(np.uint8)


def encode(image: np.ndarray, ext: str = ".jpg", quality: int = 85) -> bytes:
    """The frame as a handheld browser would upload it (canvas.toBlob JPEG, quality ~0.85)."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext == ".jpg" else []
    ok, buffer = cv2.imencode(ext, image, params)
    if not ok:
        raise ValueError(f"could not encode the frame as {ext}")
    return buffer.tobytes()
