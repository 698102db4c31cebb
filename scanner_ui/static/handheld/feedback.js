// What the operator feels, hears and sees after a scan or a confirm. Warehouses are loud and the
// operator is looking at the shelf, not the screen, so every outcome gets sound and vibration as well
// as a colour flash. WebAudio makes the tones: no audio files to fetch on a bad network.

let audio = null;

// Browsers only allow audio after a user gesture; the first tap or key unlocks it.
function unlockAudio() {
  if (audio || !(window.AudioContext || window.webkitAudioContext)) return;
  try {
    audio = new (window.AudioContext || window.webkitAudioContext)();
  } catch {
    audio = null;
  }
}
window.addEventListener("pointerdown", unlockAudio, { capture: true });
window.addEventListener("keydown", unlockAudio, { capture: true });

function tone(frequency, start, length) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.type = "square";
  oscillator.frequency.value = frequency;
  // A short ramp avoids the click of a square wave switched on and off.
  gain.gain.setValueAtTime(0.0001, audio.currentTime + start);
  gain.gain.exponentialRampToValueAtTime(0.25, audio.currentTime + start + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + start + length);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start(audio.currentTime + start);
  oscillator.stop(audio.currentTime + start + length + 0.02);
}

function beep(kind) {
  if (!audio) return;
  if (audio.state === "suspended") audio.resume().catch(() => {});
  if (kind === "ok") tone(1760, 0, 0.08);
  else if (kind === "done") { tone(1320, 0, 0.08); tone(1760, 0.1, 0.12); }
  else { tone(220, 0, 0.18); tone(180, 0.22, 0.25); }
}

function vibrate(pattern) {
  if (typeof navigator.vibrate === "function") {
    try { navigator.vibrate(pattern); } catch { /* not allowed before a gesture: silence is fine */ }
  }
}

function flash(kind) {
  const body = document.body;
  body.classList.remove("flash-ok", "flash-error");
  void body.offsetWidth; // restart the animation when two flashes follow each other
  body.classList.add(kind === "error" ? "flash-error" : "flash-ok");
}
document.addEventListener("animationend", (event) => {
  if (event.target === document.body) document.body.classList.remove("flash-ok", "flash-error");
});

// A scan or step was accepted.
export function good() {
  flash("ok"); beep("ok"); vibrate(40);
}

// A line or task was finished: a distinct, happier sound.
export function done() {
  flash("ok"); beep("done"); vibrate([40, 60, 40]);
}

// Refused: long buzz, low tones, red.
export function bad() {
  flash("error"); beep("error"); vibrate([120, 60, 120]);
}
