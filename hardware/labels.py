"""Labels: bin labels, item labels and GS1-128 pallet (SSCC) labels.

A ``Label`` is what is printed (a title, a few lines of text, one or two barcodes) and is rendered
three ways: SVG and PNG (python-barcode draws the symbols) for browsers and office printers, and ZPL II
for Zebra-compatible thermal printers, which draw the symbols themselves from the data. A printable
HTML sheet puts many labels on A4 for printing on adhesive sheets from a browser.

Every barcode's data is chosen so that scanning the printed label resolves to the same record: a bin
label carries the location code (Code 128), an item label the GTIN as a retail symbol (EAN-13/EAN-8,
or GS1-128 AI 01 for a GTIN-14) and the SKU (Code 128), a pallet label the SSCC as GS1-128 AI 00.
"""

from __future__ import annotations

import html
import io
import os
import re
from dataclasses import dataclass
from typing import Iterable, Sequence
from xml.sax.saxutils import escape as xml_escape

GS = "\x1d"
FNC1 = "\xf1"  # python-barcode's FNC1 inside a GS1-128 code


class LabelError(ValueError):
    """Data that cannot go on a label (a bad check digit, a character a symbology cannot carry)."""


# ---------------------------------------------------------------- GS1 check digits and SSCC

def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of ``digits`` (the data without its check digit): weights 3 and 1
    alternate from the rightmost digit."""
    if not digits.isascii() or not digits.isdigit():
        raise LabelError(f"{digits!r} is not all digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def build_sscc(company_prefix: str, serial_reference: int | str, extension_digit: int = 0) -> str:
    """An 18-digit SSCC: extension digit, GS1 company prefix, serial reference (zero-padded to fill the
    16 digits the prefix leaves), check digit."""
    if not (isinstance(extension_digit, int) and 0 <= extension_digit <= 9):
        raise LabelError("the extension digit must be 0-9")
    if not (company_prefix.isascii() and company_prefix.isdigit() and 6 <= len(company_prefix) <= 12):
        raise LabelError("a GS1 company prefix has 6 to 12 digits")
    serial = str(serial_reference)
    room = 16 - len(company_prefix)
    if not (serial.isascii() and serial.isdigit()) or len(serial) > room:
        raise LabelError(f"the serial reference must be at most {room} digits with a {len(company_prefix)}-digit "
                         "company prefix")
    body = f"{extension_digit}{company_prefix}{serial.zfill(room)}"
    return body + str(gs1_check_digit(body))


def validate_sscc(sscc: str) -> str:
    """``sscc`` if it is 18 digits with a correct check digit; LabelError saying what is wrong otherwise."""
    if not (sscc.isascii() and sscc.isdigit()) or len(sscc) != 18:
        raise LabelError(f"an SSCC is 18 digits, got {sscc!r}")
    expected = gs1_check_digit(sscc[:17])
    if int(sscc[17]) != expected:
        raise LabelError(f"the SSCC check digit is wrong: {sscc[:17]} needs check digit {expected}, not {sscc[17]}")
    return sscc


def format_sscc(sscc: str) -> str:
    """Human-readable SSCC as printed under the symbol: '(00) 1 0614141 123456789 7' style grouping."""
    return f"(00) {sscc[0]} {sscc[1:8]} {sscc[8:17]} {sscc[17]}"


# ---------------------------------------------------------------- what a label holds

@dataclass(frozen=True)
class Symbol:
    symbology: str  # code128, gs1_128, ean13, ean8
    data: str  # for gs1_128: element strings, GS between a variable-length AI and the next
    human: str  # the line printed under it


@dataclass(frozen=True)
class Label:
    kind: str  # location, item, sscc
    title: str
    lines: tuple[str, ...]
    symbols: tuple[Symbol, ...]
    width_mm: float = 100.0
    height_mm: float = 50.0

    @property
    def filename(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.title)
        return f"{self.kind}-{safe}"


def _code128_safe(text: str, what: str) -> str:
    if not text or not text.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise LabelError(f"{what} {text!r} cannot be printed as Code 128 (printable ASCII only)")
    return text


def location_label(code: str, *, warehouse: str | None = None, name: str | None = None,
                   zone: str | None = None) -> Label:
    lines = tuple(line for line in (name, " / ".join(p for p in (warehouse, zone) if p)) if line)
    return Label("location", code, lines,
                 (Symbol("code128", _code128_safe(code, "location code"), code),), 100.0, 40.0)


def gtin_symbol(gtin: str) -> Symbol:
    """The retail symbol for a GTIN (any of 8, 12, 13, 14 digits, or zero-padded to 14)."""
    digits = gtin.lstrip("0").zfill(8) if len(gtin) == 14 and gtin.startswith("000000") else gtin
    if not (digits.isascii() and digits.isdigit()) or len(digits) not in (8, 12, 13, 14):
        raise LabelError(f"{gtin!r} is not a GTIN")
    if gs1_check_digit(digits[:-1]) != int(digits[-1]):
        raise LabelError(f"{gtin!r} has a wrong check digit")
    if len(digits) == 8:
        return Symbol("ean8", digits, digits)
    if len(digits) == 12:
        return Symbol("ean13", "0" + digits, digits)  # UPC-A is EAN-13 with a leading zero
    if len(digits) == 14 and digits.startswith("0"):
        return Symbol("ean13", digits[1:], digits[1:])
    if len(digits) == 13:
        return Symbol("ean13", digits, digits)
    return Symbol("gs1_128", "01" + digits, f"(01) {digits}")


def item_label(sku: str, name: str, *, gtin: str | None = None) -> Label:
    symbols = [gtin_symbol(gtin)] if gtin else []
    symbols.append(Symbol("code128", _code128_safe(sku, "SKU"), sku))
    return Label("item", sku, (name,), tuple(symbols), 100.0, 60.0 if gtin else 40.0)


def sscc_label(sscc: str, *, lines: Sequence[str] = ()) -> Label:
    validate_sscc(sscc)
    return Label("sscc", sscc, ("SSCC (Serial Shipping Container Code)", *lines),
                 (Symbol("gs1_128", "00" + sscc, format_sscc(sscc)),), 100.0, 60.0)


# ---------------------------------------------------------------- SVG and PNG

MODULE_MM = {"code128": 0.33, "gs1_128": 0.40, "ean13": 0.33, "ean8": 0.33}
BAR_HEIGHT_MM = {"code128": 12.0, "gs1_128": 15.0, "ean13": 15.0, "ean8": 15.0}


def _barcode(symbol: Symbol, writer: object) -> object:
    import barcode

    if symbol.symbology == "gs1_128":
        return barcode.get("gs1_128", symbol.data.replace(GS, FNC1), writer=writer)
    if symbol.symbology in ("ean13", "ean8"):
        return barcode.get(symbol.symbology, symbol.data[:-1], writer=writer)
    return barcode.get("code128", symbol.data, writer=writer)


def _writer_options(symbol: Symbol, **extra: object) -> dict[str, object]:
    return {"module_width": MODULE_MM[symbol.symbology], "module_height": BAR_HEIGHT_MM[symbol.symbology],
            "quiet_zone": 4.0, "font_size": 9, "text_distance": 4.0, "write_text": True, **extra}


def symbol_svg(symbol: Symbol) -> str:
    """One symbol as a standalone SVG document (python-barcode), its human-readable line under it."""
    from barcode.writer import SVGWriter

    rendered = _barcode(symbol, SVGWriter()).render(_writer_options(symbol), text=symbol.human)  # type: ignore[attr-defined]
    return rendered.decode("utf-8")


def _inner_svg(document: str) -> str:
    """The <svg> element of a document, without the XML prolog and doctype, for nesting or inlining."""
    return document[document.index("<svg"):]


def render_svg(label: Label) -> str:
    """The whole label as one SVG document sized in millimetres."""
    width, height = label.width_mm, label.height_mm
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}mm" height="{height}mm" '
             f'viewBox="0 0 {width} {height}">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="8" font-family="sans-serif" font-size="7" font-weight="bold" '
             f'text-anchor="middle">{xml_escape(label.title)}</text>']
    y = 8.0
    for line in label.lines:
        y += 5.0
        parts.append(f'<text x="{width / 2}" y="{y}" font-family="sans-serif" font-size="4" '
                     f'text-anchor="middle">{xml_escape(line)}</text>')
    y += 2.0
    space = (height - y) / max(1, len(label.symbols))
    for symbol in label.symbols:
        inner = _inner_svg(symbol_svg(symbol))
        # python-barcode sizes its document in mm; nested in a mm viewBox, a unitless box of the same
        # numbers keeps it to scale, and preserveAspectRatio shrinks a long code to fit the label.
        parts.append(f'<svg x="2" y="{y:.2f}" width="{width - 4}" height="{space:.2f}" '
                     f'viewBox="0 0 {_svg_mm(inner, "width")} {_svg_mm(inner, "height")}">')
        parts.append(_strip_units(inner))
        parts.append("</svg>")
        y += space
    parts.append("</svg>")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(parts) + "\n"


def _svg_mm(svg: str, attribute: str) -> str:
    head = svg[:svg.index(">")]
    value = head.split(f'{attribute}="', 1)[1].split('"', 1)[0]
    return value.removesuffix("mm")


def _strip_units(svg: str) -> str:
    """python-barcode writes every coordinate in mm and font sizes in pt; inside a viewBox in mm they
    become plain numbers (1 pt = 0.3528 mm)."""
    svg = svg.replace("mm\"", "\"")
    return re.sub(r"font-size:\s*([0-9.]+)pt", lambda m: f"font-size:{float(m.group(1)) * 0.3528:.2f}px", svg)


def _font(size_px: int) -> object:
    from PIL import ImageFont

    import barcode

    path = os.path.join(os.path.dirname(barcode.__file__), "fonts", "DejaVuSansMono.ttf")
    try:
        return ImageFont.truetype(path, size_px)
    except OSError:
        return ImageFont.load_default(size_px)


def render_png(label: Label, *, dpi: int = 203) -> bytes:
    """The label as a PNG at printer resolution (203 dpi, the common thermal-printer density)."""
    from barcode.writer import ImageWriter
    from PIL import Image, ImageDraw

    def px(mm: float) -> int:
        return round(mm / 25.4 * dpi)

    canvas = Image.new("L", (px(label.width_mm), px(label.height_mm)), 255)
    draw = ImageDraw.Draw(canvas)
    draw.text((canvas.width // 2, px(2)), label.title, fill=0, font=_font(px(6)), anchor="mt")  # type: ignore[arg-type]
    y = px(9)
    for line in label.lines:
        draw.text((canvas.width // 2, y), line, fill=0, font=_font(px(3.5)), anchor="mt")  # type: ignore[arg-type]
        y += px(5)
    space = (canvas.height - y - px(1)) // max(1, len(label.symbols))
    for symbol in label.symbols:
        drawn = _barcode(symbol, ImageWriter()).render(  # type: ignore[attr-defined]
            _writer_options(symbol, dpi=dpi, font_size=8, font_path=_font_path()), text=symbol.human).convert("L")
        # Shrink to fit, never enlarge: a resampled module stays a whole number of dots only at 1:1.
        factor = min(1.0, (canvas.width - px(4)) / drawn.width, space / drawn.height)
        if factor < 1.0:
            drawn = drawn.resize((int(drawn.width * factor), int(drawn.height * factor)), Image.Resampling.NEAREST)
        canvas.paste(drawn, ((canvas.width - drawn.width) // 2, y))
        y += space
    out = io.BytesIO()
    canvas.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def _font_path() -> str:
    import barcode

    return os.path.join(os.path.dirname(barcode.__file__), "fonts", "DejaVuSansMono.ttf")


# ---------------------------------------------------------------- ZPL II

def zpl_field(text: str) -> str:
    """``text`` for a ^FH_ ^FD field: UTF-8 (with ^CI28), and every byte ZPL would read as a command
    (^ ~), as the hex indicator (_) or that is not printable ASCII written as _XX."""
    out = []
    for byte in text.encode("utf-8"):
        if 0x20 <= byte < 0x7F and chr(byte) not in "^~_":
            out.append(chr(byte))
        else:
            out.append(f"_{byte:02X}")
    return "".join(out)


def _zpl_code128(data: str) -> str:
    # In ^BC's default mode ">" starts an invocation code; a literal one is "><".
    return data.replace(">", "><")


def _module_dots(symbol: Symbol, room: int) -> int:
    """^BY module width (1-3 dots) that keeps a Code 128 symbol within ``room`` dots: 11 modules a
    symbol character (two digits in subset C), plus start, check, stop and the quiet zones."""
    data = symbol.data
    characters = len(data) // 2 + 1 if data.isdigit() and len(data) % 2 == 0 else len(data)
    modules = 11 * (characters + 3) + 2 + 20
    return max(1, min(3, room // modules))


def _zpl_symbol(symbol: Symbol, x: int, y: int, height: int, room: int) -> list[str]:
    if symbol.symbology == "ean13":
        return [f"^FO{x},{y}^BY3^BEN,{height},Y,N^FD{symbol.data[:12]}^FS"]
    if symbol.symbology == "ean8":
        return [f"^FO{x},{y}^BY3^B8N,{height},Y,N^FD{symbol.data[:7]}^FS"]
    if symbol.symbology == "gs1_128":
        # >8 is FNC1: first after the start code it makes the symbol GS1-128, later it separates a
        # variable-length AI from the next. All-digit data starts in subset C (>;), two digits a bar.
        chunks = [_zpl_code128(part) for part in symbol.data.split(GS)]
        start = ">;" if all(c.isdigit() for c in symbol.data.replace(GS, "")) and len(symbol.data) % 2 == 0 else ">:"
        data = start + ">8" + ">8".join(chunks)
        return [f"^FO{x},{y}^BY{_module_dots(symbol, room)}^BCN,{height},N,N,N^FD{data}^FS",
                f"^FO{x},{y + height + 10}^A0N,30,30^FH_^FD{zpl_field(symbol.human)}^FS"]
    return [f"^FO{x},{y}^BY{_module_dots(symbol, room)}^BCN,{height},N,N,N^FD{_zpl_code128(symbol.data)}^FS",
            f"^FO{x},{y + height + 10}^A0N,30,30^FH_^FD{zpl_field(symbol.human)}^FS"]


def render_zpl(label: Label, *, copies: int = 1, dpi: int = 203) -> str:
    """The label as one ZPL II format (^XA ... ^XZ) for a Zebra-compatible printer at ``dpi``."""
    if not 1 <= copies <= 1000:
        raise LabelError("copies must be 1 to 1000")

    def dots(mm: float) -> int:
        return round(mm / 25.4 * dpi)

    lines = ["^XA", "^CI28", f"^PW{dots(label.width_mm)}", f"^LL{dots(label.height_mm)}", "^LH0,0",
             f"^FO{dots(3)},{dots(3)}^A0N,{dots(6)},{dots(6)}^FH_^FD{zpl_field(label.title)}^FS"]
    y = dots(11)
    for line in label.lines:
        lines.append(f"^FO{dots(3)},{y}^A0N,{dots(3.5)},{dots(3.5)}^FH_^FD{zpl_field(line)}^FS")
        y += dots(5)
    space = (dots(label.height_mm) - y) // max(1, len(label.symbols))
    for symbol in label.symbols:
        lines += _zpl_symbol(symbol, dots(5), y + dots(1), max(dots(6), space - dots(8)),
                             dots(label.width_mm - 10))
        y += space
    lines += [f"^PQ{copies}", "^XZ"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- a printable sheet

SHEET_CSS = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: sans-serif; }
h1 { font-size: 12pt; margin: 0 0 4mm; }
.sheet { display: grid; grid-template-columns: repeat(2, 90mm); grid-auto-rows: 40mm; gap: 2mm 5mm; }
.label { border: 0.2mm dashed #bbb; padding: 1.5mm; overflow: hidden; text-align: center;
         break-inside: avoid; page-break-inside: avoid; }
.label .code { font-size: 14pt; font-weight: bold; }
.label .line { font-size: 8pt; color: #333; }
.label svg { width: 100%; height: 24mm; }
@media print { h1, .hint { display: none; } .label { border-color: transparent; } }
"""


def sheet_html(labels: Iterable[Label], *, title: str) -> str:
    """An A4 HTML page of labels (two columns, 40 mm rows) with inline SVG symbols; print it from the
    browser at 100 % scale onto adhesive A4 sheets."""
    cells = []
    for label in labels:
        symbols = "".join(_sized_svg(_inner_svg(symbol_svg(symbol))) for symbol in label.symbols)
        lines = "".join(f'<div class="line">{html.escape(line)}</div>' for line in label.lines)
        cells.append(f'<div class="label"><div class="code">{html.escape(label.title)}</div>{lines}{symbols}</div>')
    body = "\n".join(cells) or '<p class="hint">No labels to print.</p>'
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{SHEET_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"hint\">Print at 100 % scale on A4.</p>"
            f"<div class=\"sheet\">\n{body}\n</div></body></html>\n")


def _sized_svg(svg: str) -> str:
    """An inline symbol scaled by CSS: a viewBox from its mm size instead of fixed width/height."""
    width, height = _svg_mm(svg, "width"), _svg_mm(svg, "height")
    head, rest = svg.split(">", 1)
    head = head.replace(f'width="{width}mm"', "").replace(f'height="{height}mm"', "")
    return f'{head} viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet">{_strip_units(rest)}'
