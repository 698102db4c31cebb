// The live connection: Socket.IO on /live, narrowed to the chosen warehouse, with catch-up from the
// ledger's change feed after every reconnect or gap. The stock panel and the feed apply what arrives
// exactly once on their own (rows keep the seq they reflect; feed entries are keyed by seq, location
// and lot), so a change that comes both live and through catch-up is harmless.
import { api } from "../common/api.js";

const FEED_PAGE = 500;

export function connectLive({ onState, onStock, onChange, onEvent }) {
  let selection = "";          // "" = every warehouse this user may see
  let caughtUpTo = 0;          // every change up to this seq (in the selection) has been handled
  let catching = null;         // the running catch-up, if any
  let again = false;           // another catch-up was asked for while one ran
  let wanted = true;           // false while the browser says it is offline
  let refused = false;

  const socket = window.io("/live", { autoConnect: false, reconnectionDelayMax: 5000 });

  function inSelection(warehouse) {
    return !selection || warehouse === selection;
  }

  function state(name) {
    onState(name);
  }

  async function subscribe() {
    // The server joins every visible warehouse on connect; narrowing is a courtesy to the network.
    // Events are filtered here too, so an older server without `subscribe` still shows the right ones.
    const codes = selection ? [selection] : [];
    try {
      const ack = await socket.timeout(5000).emitWithAck("subscribe", { warehouses: codes });
      if (ack && ack.error) console.warn("subscribe refused:", ack.error);
    } catch {
      // No ack (server without `subscribe`): the client-side filter keeps the view right.
    }
  }

  // `quiet` for gap checks while live: the header should not blink "catching up" every second.
  async function catchUp({ quiet = false } = {}) {
    if (catching) {
      again = true;
      return catching;
    }
    catching = (async () => {
      if (!quiet) state("catching_up");
      try {
        do {
          again = false;
          let after = caughtUpTo;
          for (;;) {
            const query = new URLSearchParams({ after, limit: FEED_PAGE });
            if (selection) query.set("warehouse", selection);
            const page = await api("GET", `/stock/changes?${query}`);
            for (const change of page.changes) if (inSelection(change.warehouse)) onChange(change);
            // Seqs of other warehouses are absent from a narrowed feed, so "done" is the feed
            // saying so (nothing after `after`, or we reached the head), never counting seqs.
            if (page.next_after === after || page.next_after >= page.last_seq) {
              caughtUpTo = Math.max(caughtUpTo, page.last_seq);
              break;
            }
            after = page.next_after;
            caughtUpTo = Math.max(caughtUpTo, after);
          }
        } while (again);
      } catch (error) {
        console.warn("catch-up failed; will retry on the next event or reconnect", error);
      } finally {
        catching = null;
        state(socket.connected ? "live" : "reconnecting");
      }
    })();
    return catching;
  }

  socket.on("connect", async () => {
    refused = false;
    state("catching_up");
    await subscribe();
    await catchUp();
  });

  socket.on("disconnect", (reason) => {
    state(refused ? "refused" : "reconnecting");
    // The server hung up on purpose (e.g. the session ended): Socket.IO will not retry by itself.
    if (reason === "io server disconnect" && wanted) setTimeout(() => socket.connect(), 2000);
  });

  socket.on("connect_error", (error) => {
    if (/authentication/i.test(error.message || "")) {
      refused = true;
      state("refused");
    } else {
      state("reconnecting");
    }
  });

  socket.on("stock.changed", (event) => {
    if (!inSelection(event.warehouse)) return;
    onStock(event);
    if (event.seq <= caughtUpTo) return;
    if (event.seq === caughtUpTo + 1 && !catching) caughtUpTo = event.seq;
    else catchUpSoon();   // a possible gap: ask the feed what this selection missed
  });

  // Gaps are normal in a narrowed subscription (other warehouses' seqs never arrive), so on a busy
  // site nearly every event looks like one. One feed read a second covers them all.
  let gapTimer = null;
  function catchUpSoon() {
    if (gapTimer) return;
    gapTimer = setTimeout(() => {
      gapTimer = null;
      catchUp({ quiet: true });
    }, 1000);
  }

  for (const name of ["discrepancy.opened", "discrepancy.resolved", "task.updated", "return.received", "stock.low"]) {
    socket.on(name, (payload) => {
      if (!payload || inSelection(payload.warehouse)) onEvent(name, payload);
    });
  }

  // The browser knows before Socket.IO's heartbeat does that the network is gone; drop the socket
  // at once and reconnect (and catch up) as soon as it is back.
  window.addEventListener("offline", () => {
    wanted = false;
    socket.disconnect();
    state("reconnecting");
  });
  window.addEventListener("online", () => {
    wanted = true;
    socket.connect();
  });

  return {
    // Start (or restart after a warehouse change) from a snapshot taken at `seq`.
    start(warehouse, seq) {
      selection = warehouse;
      caughtUpTo = seq;
      if (!socket.connected) {
        if (wanted) socket.connect();
        return;
      }
      subscribe().then(() => catchUp());
    },
    catchUp,
    get connected() {
      return socket.connected;
    },
  };
}
