// The outbox: confirmations made while the network is down, kept in IndexedDB so they survive a
// reload, a flat battery swap or the browser killing the tab. Each entry carries the client UUID it
// was first sent with as its Idempotency-Key, so a replay of something the server did receive (the
// answer was lost, not the request) is answered from the stored response and never posted twice.
// Entries go out strictly in the order they were made: a later line may depend on an earlier one.
// What the server refuses on replay is a conflict the operator must see and acknowledge.

import { api } from "../common/api.js";

const DB_NAME = "warehouse-handheld";
const OUTBOX = "outbox";
const CONFLICTS = "conflicts";

let opening = null;

function database() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      // autoIncrement ids give the order the operator worked in.
      db.createObjectStore(OUTBOX, { keyPath: "id", autoIncrement: true });
      db.createObjectStore(CONFLICTS, { keyPath: "id", autoIncrement: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => { opening = null; reject(request.error); };
  });
  return opening;
}

async function run(store, mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(store, mode);
    const request = work(transaction.objectStore(store));
    transaction.oncomplete = () => resolve(request ? request.result : undefined);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

const all = (store) => run(store, "readonly", (s) => s.getAll());

// crypto.randomUUID only exists in secure contexts; a LAN page served over plain HTTP still gets a
// random v4 UUID from getRandomValues, which every browser has.
export function uuid() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Outbox extends EventTarget {
  constructor() {
    super();
    this.userId = null;
    this.flushing = null;
    this.again = false;
  }

  // Entries belong to the person who made them: another operator signing in on this device must
  // not send them under their own name.
  forUser(userId) {
    this.userId = userId;
    this.changed();
  }

  async add({ method = "POST", path, body, key, label, taskId, lineNo }) {
    await run(OUTBOX, "readwrite", (s) => s.add({
      method, path, body, key, label, taskId, lineNo, userId: this.userId, createdAt: new Date().toISOString(),
    }));
    this.changed();
  }

  async pending() {
    return (await all(OUTBOX)).filter((entry) => entry.userId === this.userId).sort((a, b) => a.id - b.id);
  }

  async conflicts() {
    return (await all(CONFLICTS)).filter((entry) => entry.userId === this.userId).sort((a, b) => a.id - b.id);
  }

  async acknowledge(conflictId) {
    await run(CONFLICTS, "readwrite", (s) => s.delete(conflictId));
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  // Send what waits, in order. Stops at the first entry that cannot be sent now (still offline, the
  // server busy or failing, the session expired) and leaves it and everything after it queued.
  flush() {
    if (this.flushing) {
      // Asked again while sending (the network came back while a failing attempt was on its way):
      // go round once more afterwards instead of waiting for the next periodic retry.
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      let result;
      do {
        this.again = false;
        result = await this.#send();
      } while (this.again);
      return result;
    })().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  async #send() {
    if (this.userId === null) return { sent: 0 };
    let sent = 0;
    for (const entry of await this.pending()) {
      try {
        const answer = await api(entry.method, entry.path, entry.body, { idempotencyKey: entry.key });
        await run(OUTBOX, "readwrite", (s) => s.delete(entry.id));
        sent += 1;
        this.dispatchEvent(new CustomEvent("sent", { detail: { entry, answer } }));
      } catch (error) {
        if (!retryLater(error)) {
          await run(OUTBOX, "readwrite", (s) => s.delete(entry.id));
          await run(CONFLICTS, "readwrite", (s) => s.add({
            userId: entry.userId, label: entry.label, taskId: entry.taskId, lineNo: entry.lineNo,
            status: error.status, detail: error.message, type: error.problem.type || null,
            at: new Date().toISOString(),
          }));
          this.dispatchEvent(new CustomEvent("conflict", { detail: { entry, error } }));
          continue; // the next entry may still be fine
        }
        this.changed();
        if (error.status === 401) this.dispatchEvent(new Event("signed-out"));
        return { sent, stopped: error };
      }
    }
    this.changed();
    return { sent };
  }
}

// Worth retrying as it is: no network, the server failing or overloaded, the same key still being
// worked on (409 idempotency-in-progress), or a sign-in needed. Anything else the server said no to.
function retryLater(error) {
  if (error.offline || error.status === 0 || error.status >= 500 || error.status === 401 || error.status === 429) {
    return true;
  }
  return error.status === 409 && error.problem.type === "urn:warehouse:problem:idempotency-in-progress";
}
