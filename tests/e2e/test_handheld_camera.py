"""Camera scanning end to end: Chromium's fake camera plays an .mjpeg of a printed label; headless
Chromium has no BarcodeDetector, so the app sends frames to POST /api/v1/scans/decode and the code
read there goes into the workflow exactly like a wedge scan. Also the messages an operator gets
when the camera cannot be used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.handheld import GS, GTIN, OLGA, open_task, prompt, scan, sign_in

# What the app asks the camera for (ideal 1280x720); a long GS1-128 label needs the width.
FRAME_WIDTH, FRAME_HEIGHT = 1280, 720
FNC1 = "\xf1"  # python-barcode's FNC1 inside a GS1-128 symbol


def symbol_image(kind: str, content: str) -> Any:
    """The label as printed, as a grayscale numpy array."""
    import numpy as np

    if kind in ("code128", "gs1_128"):
        import barcode
        from barcode.writer import ImageWriter

        text = content.replace(GS, FNC1) if kind == "gs1_128" else content
        # Three pixels per module (0.254 mm at 300 dpi); write_mjpeg scales it up by a whole factor.
        drawn = barcode.get(kind, text, writer=ImageWriter()).render(
            {"module_width": 0.254, "module_height": 15.0, "dpi": 300, "quiet_zone": 4.0, "write_text": False})
        return np.asarray(drawn.convert("L"))
    import zxingcpp

    if kind == "qr":
        created = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode)
    else:  # GS1 DataMatrix, square as printed on goods; zxing-cpp's GS1 writer takes "(01)..." text
        created = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.DataMatrix, gs1=True, forceSquare=True)
    return np.asarray(created.to_image(scale=8, add_quiet_zones=True))


def write_mjpeg(path: Path, image: Any, frames: int = 30) -> Path:
    """A 1280x720 frame with the label in the middle, as an MJPEG file for Chromium's fake camera:
    JPEG frames one after the other (Chromium takes the size from the first and loops the file)."""
    import cv2
    import numpy as np

    frame = np.full((FRAME_HEIGHT, FRAME_WIDTH), 235, dtype=np.uint8)  # paper under warehouse light
    height, width = image.shape
    # A whole number of pixels per module, so bars keep their widths (as a camera close to the label sees it).
    scale = max(1, min((FRAME_WIDTH - 80) // width, (FRAME_HEIGHT - 80) // height, 8))
    label = cv2.resize(image, (width * scale, height * scale), interpolation=cv2.INTER_NEAREST)
    top, left = (FRAME_HEIGHT - label.shape[0]) // 2, (FRAME_WIDTH - label.shape[1]) // 2
    frame[top:top + label.shape[0], left:left + label.shape[1]] = label
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    path.write_bytes(jpeg.tobytes() * frames)
    return path


@pytest.fixture
def camera_browser(launch: Any, tmp_path: Path) -> Any:
    def start(kind: str, content: str) -> Any:
        pytest.importorskip("cv2")
        pytest.importorskip("barcode")
        pytest.importorskip("zxingcpp")
        video = write_mjpeg(tmp_path / f"{kind}.mjpeg", symbol_image(kind, content))
        return launch("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                      f"--use-file-for-fake-video-capture={video}")
    return start


def scan_with_camera(page: Any) -> None:
    page.get_by_test_id("camera").click()
    expect(page.locator("#camera")).to_be_visible()
    # The camera closes itself when a code was read, and the app carries on with it.
    expect(page.locator("#camera")).to_be_hidden(timeout=20_000)


def test_camera_reads_a_code128_bin_label(camera_browser: Any, new_context: Any) -> None:
    page = sign_in(new_context(on=camera_browser("code128", "AMS-A-01-01")), OLGA)
    open_task(page, "pick SO-DEMO-1")
    expect(prompt(page)).to_have_text("Scan bin AMS-A-01-01")
    page.get_by_test_id("camera").click()
    expect(page.get_by_test_id("camera-message")).to_be_visible()
    screenshot(page, "handheld-12-camera")
    expect(page.locator("#camera")).to_be_hidden(timeout=20_000)
    expect(page.get_by_test_id("check-location")).to_have_class("ok")
    expect(prompt(page)).to_have_text("Scan Drill bit set, 10 pc")
    # The tracks are stopped, not just hidden.
    assert page.evaluate("document.getElementById('camera-video').srcObject") is None
    assert page.js_errors == []


def test_camera_reads_an_item_qr_code(camera_browser: Any, new_context: Any) -> None:
    page = sign_in(new_context(on=camera_browser("qr", GTIN["SKU-1002"])), OLGA)
    open_task(page, "pick SO-DEMO-1")
    scan(page, "AMS-A-01-01")
    scan_with_camera(page)
    expect(page.get_by_test_id("check-item")).to_contain_text("SKU-1002")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("status")).to_have_text("Line 1 done.")


@pytest.mark.parametrize("kind, content", [
    ("gs1_128", f"01{GTIN['SKU-1004'].zfill(14)}10VD-2501{GS}17280131"),
    ("datamatrix", f"(01){GTIN['SKU-1004'].zfill(14)}(10)VD-2501(17)280131"),
], ids=["gs1-128", "gs1-datamatrix"])
def test_camera_reads_a_gs1_label_into_lot_and_expiry(camera_browser: Any, new_context: Any, kind: str,
                                                       content: str) -> None:
    page = sign_in(new_context(on=camera_browser(kind, content)), OLGA)
    open_task(page, "ASN-DEMO-1")
    scan(page, "AMS-DOCK-1")
    scan_with_camera(page)
    expect(page.get_by_test_id("check-item")).to_contain_text("SKU-1004")
    expect(page.get_by_test_id("check-lot")).to_contain_text("VD-2501 · 2028-01-31")
    expect(prompt(page)).to_have_text("Count and enter the quantity")
    assert page.js_errors == []


def test_no_camera_is_said_plainly(new_context: Any) -> None:
    # Headless Chromium without a fake device has no camera at all.
    page = sign_in(new_context(), OLGA)
    page.get_by_test_id("camera").click()
    expect(page.get_by_test_id("camera-message")).to_have_text("No camera found on this device.")
    page.get_by_role("button", name="Close camera").click()
    expect(page.get_by_test_id("scan")).to_be_focused()


def test_a_refused_camera_is_said_plainly(launch: Any, new_context: Any) -> None:
    # A camera exists, but the permission prompt is refused (headless answers prompts with "deny").
    page = sign_in(new_context(on=launch("--use-fake-device-for-media-stream")), OLGA)
    page.get_by_test_id("camera").click()
    expect(page.get_by_test_id("camera-message")).to_contain_text("Camera access was refused")


def test_a_page_without_https_says_why_the_camera_is_off(new_context: Any) -> None:
    # On a real device over plain HTTP the browser withholds the camera; 127.0.0.1 counts as secure,
    # so the test makes the page see what such a device sees.
    context = new_context()
    context.add_init_script("Object.defineProperty(window, 'isSecureContext', { get: () => false })")
    page = sign_in(context, OLGA)
    page.get_by_test_id("camera").click()
    expect(page.get_by_test_id("camera-message")).to_contain_text("needs a secure (HTTPS) connection")


def test_with_barcodedetector_the_device_decodes_and_sends_no_frames(launch: Any, new_context: Any) -> None:
    """Android Chrome has BarcodeDetector: codes are read on the device. Headless Chromium lacks it,
    so a stand-in with the same interface answers what the (fake) camera shows."""
    context = new_context(on=launch("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"))
    context.add_init_script("""
        window.BarcodeDetector = class {
            static async getSupportedFormats() { return ['code_128', 'qr_code', 'ean_13']; }
            constructor(options) { window.detectorFormats = options.formats; }
            async detect(source) {
                return source.videoWidth ? [{ rawValue: 'AMS-A-01-01', format: 'code_128' }] : [];
            }
        };""")
    page = sign_in(context, OLGA)
    frames: list[str] = []
    page.on("request", lambda request: frames.append(request.url) if "/scans/decode" in request.url else None)
    open_task(page, "pick SO-DEMO-1")
    scan_with_camera(page)
    expect(page.get_by_test_id("check-location")).to_have_class("ok")
    assert page.evaluate("window.detectorFormats") == ["code_128", "qr_code", "ean_13"]
    assert frames == []
