// Camera scanning. The rear camera is asked for with `ideal` (not `exact`), so a device with only a
// front camera, or a desktop webcam, still works. Where the browser has the BarcodeDetector API
// (Android Chrome) codes are read on the device; elsewhere frames go to the server as JPEGs
// (POST /api/v1/scans/decode, decoded in hardware/) a few times a second until one is read.
// The decoded text then goes through the same path as a wedge scan.

import { apiUpload } from "../common/api.js";

const FRAME_INTERVAL_MS = 250; // about 4 frames a second: enough to feel instant, light on Wi-Fi
const MAX_FRAME_WIDTH = 1280;

export class CameraError extends Error {
  constructor(reason, cause) {
    super(reason);
    this.reason = reason; // "insecure" | "unsupported" | "denied" | "absent" | "busy" | "failed"
    this.cause = cause;
  }
}

function whyItFailed(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return "absent";
    case "NotReadableError":
    case "AbortError":
      return "busy";
    default:
      return "failed";
  }
}

// In-browser decoding, limited to the formats warehouse labels use that this device supports.
async function browserDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const wanted = ["code_128", "qr_code", "data_matrix", "ean_13", "ean_8", "upc_a", "upc_e", "code_39", "itf"];
    const supported = await window.BarcodeDetector.getSupportedFormats();
    const formats = wanted.filter((format) => supported.includes(format));
    return formats.length ? new window.BarcodeDetector({ formats }) : null;
  } catch {
    return null;
  }
}

// A code read by BarcodeDetector carries no AIM symbology identifier; for GS1 symbols the FNC1
// separators come through as GS. The server's resolver reads GS1 element strings either way.
function textOf(barcode) {
  return barcode.rawValue;
}

export class Camera {
  constructor(video, onCode) {
    this.video = video;
    this.onCode = onCode;
    this.stream = null;
    this.timer = null;
    this.busy = false;
    this.abort = null;
    this.canvas = document.createElement("canvas");
  }

  get running() {
    return this.stream !== null;
  }

  async start() {
    // getUserMedia exists only in secure contexts: HTTPS, or localhost / 127.0.0.1 while testing.
    if (!window.isSecureContext) throw new CameraError("insecure");
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== "function") {
      throw new CameraError("unsupported");
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      throw new CameraError(whyItFailed(error), error);
    }
    this.video.srcObject = this.stream;
    await this.video.play().catch(() => {}); // muted inline video may autoplay; frames come either way
    this.detector = await browserDetector();
    this.abort = new AbortController();
    this.#schedule();
  }

  // Stop the tracks, not just hide the video: a live track keeps the camera light on and the battery draining.
  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.abort) this.abort.abort();
    this.abort = null;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  #schedule() {
    if (!this.stream) return;
    this.timer = setTimeout(() => this.#tick(), FRAME_INTERVAL_MS);
  }

  async #tick() {
    if (!this.stream || this.busy) return this.#schedule();
    if (this.video.readyState < 2 || !this.video.videoWidth) return this.#schedule();
    this.busy = true;
    try {
      const code = this.detector ? await this.#detectHere() : await this.#detectOnServer();
      if (code && this.stream) {
        this.stop();
        this.onCode(code);
        return;
      }
    } catch (error) {
      if (error.name === "AbortError") return;
      // A frame that failed to upload (network blip) is simply skipped; the next one is tried.
      if (error.offline && this.onOffline) this.onOffline();
    } finally {
      this.busy = false;
    }
    this.#schedule();
  }

  async #detectHere() {
    const found = await this.detector.detect(this.video);
    return found.length ? textOf(found[0]) : null;
  }

  async #detectOnServer() {
    const { videoWidth: width, videoHeight: height } = this.video;
    const scale = Math.min(1, MAX_FRAME_WIDTH / width);
    this.canvas.width = Math.round(width * scale);
    this.canvas.height = Math.round(height * scale);
    this.canvas.getContext("2d").drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    const frame = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", 0.85));
    if (!frame) return null;
    const answer = await apiUpload("/scans/decode", frame, { signal: this.abort.signal, contentType: "image/jpeg" });
    const codes = (answer && answer.codes) || [];
    // `raw` is what a wedge scanner would have typed (AIM identifier, GS separators): the same input
    // the resolver gets from a scanner.
    return codes.length ? codes[0].raw || codes[0].text : null;
  }
}
