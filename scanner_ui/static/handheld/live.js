// Live updates from the /live Socket.IO namespace (the same events the dashboard gets). The task
// list uses them to show at once what a colleague just confirmed for this operator to verify,
// instead of waiting for a manual refresh. Without the Socket.IO client (npm files not installed)
// or a connection, the app works as before: the list refreshes when it is opened.

export function connectLive(handlers) {
  if (typeof window.io !== "function") return null;
  // The browser's session cookie authenticates the connection; strangers are refused by the server.
  const socket = window.io("/live", { withCredentials: true, reconnectionDelayMax: 10_000 });
  for (const [event, handler] of Object.entries(handlers)) socket.on(event, handler);
  return socket;
}
