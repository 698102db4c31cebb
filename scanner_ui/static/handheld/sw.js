// The handheld's service worker: keeps the app itself on the device so that a reload on a dead spot
// of the warehouse Wi-Fi still opens it (waiting confirmations are in IndexedDB, see queue.js).
// SHELL_VERSION and SHELL_FILES are written above this line by the server (scanner_ui: /sw.js).
// API calls are never answered from here: stock and tasks come from the server or not at all.

const CACHE = `handheld-${SHELL_VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("handheld-") && name !== CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === "/") {
    // The network first, so a signed-in page is always current; the kept copy only when it fails.
    event.respondWith(fetch(request).catch(() => caches.match("/", { cacheName: CACHE })));
    return;
  }
  if (SHELL_FILES.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((kept) => kept || fetch(request)));
  }
});
