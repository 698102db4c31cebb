// Keyboard-wedge scanners "type" the barcode into whatever has focus and end it with Enter or Tab.
// We read the whole value when the terminator arrives, never key by key: some scanners (Android
// DataWedge in IME mode, the camera, a paste) put the whole text in at once without key events, and
// per-key handling would lose the GS (ASCII 29) separators and the ]C1 symbology identifier that the
// server needs to read a GS1 label.

const TERMINATORS = /[\r\n\t]/;
export const DUPLICATE_WINDOW_MS = 800;

export class ScanInput {
  constructor(input, onScan, { duplicateWindowMs = DUPLICATE_WINDOW_MS } = {}) {
    this.input = input;
    this.onScan = onScan;
    this.window = duplicateWindowMs;
    this.last = { raw: null, at: 0 };
    this.enabled = true;

    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== "Tab") return;
      if (event.isComposing) return; // an IME is still composing: its own Enter commits the text
      event.preventDefault(); // Tab must not move focus away from the scan field
      this.take(input.value);
    });
    // A scanner configured to send its suffix as a character (or an IME commit that includes it)
    // never fires a keydown for Enter; an <input> drops CR/LF from its value but keeps a Tab.
    input.addEventListener("input", () => {
      if (TERMINATORS.test(input.value)) this.take(input.value);
    });
  }

  take(value) {
    this.input.value = "";
    for (const part of value.split(TERMINATORS)) this.emit(part);
  }

  // Called by the camera too, so that both inputs share the double-scan filter.
  emit(raw) {
    // Only the wedge's own suffix and padding are trimmed; GS (\x1d) and ]C1 stay exactly as typed.
    const scan = raw.replace(/^[ \r\n\t]+|[ \r\n\t]+$/g, "");
    if (!scan || !this.enabled) return;
    const now = performance.now();
    // A trigger held a little too long, or a camera seeing the same label in consecutive frames,
    // reads the same code twice; a second identical scan within the window is the same scan.
    if (scan === this.last.raw && now - this.last.at < this.window) return;
    this.last = { raw: scan, at: now };
    this.onScan(scan);
  }
}

// Elements where the operator types on purpose (quantity, PIN, lot): focus stays there.
function isTyping(element) {
  return element && element.matches && element.matches("input:not(.scan), textarea, select");
}

// Keep the scan field focused: after every tap on a button, after a screen is drawn, after the
// window comes back. Without focus a wedge scan would go nowhere (or into a button).
export function keepFocus(input) {
  const refocus = () => {
    if (input.offsetParent === null) return; // hidden (sign-in screen, camera open)
    if (isTyping(document.activeElement)) return;
    if (document.activeElement !== input) input.focus({ preventScroll: true });
  };
  document.addEventListener("click", () => setTimeout(refocus, 0));
  input.addEventListener("blur", () => setTimeout(refocus, 0));
  window.addEventListener("focus", refocus);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refocus(); });
  // Redrawing a screen removes the element that had focus (a tapped button, the PIN field after
  // signing in) without any blur on the scan field; focus then falls back to <body>.
  new MutationObserver(() => {
    if (!document.activeElement || document.activeElement === document.body) refocus();
  }).observe(document.body, { childList: true, subtree: true });
  return refocus;
}
