// The live feed: authenticate, subscribe, then hand snapshot and delta events to `onEvents`; reconnect with backoff.
import { requireSession } from "./session.js";

export function connectLive(subscribe, onEvents, onState) {
  let attempt = 0;
  let socket = null;
  let stopped = false;

  async function open() {
    const session = await requireSession();
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/live`);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "auth", token: session.access_token }));
      socket.send(JSON.stringify({ type: "subscribe", ...subscribe }));
      onState("live");
      attempt = 0;
    });
    socket.addEventListener("message", (msg) => {
      const frame = JSON.parse(msg.data);
      if (frame.type === "snapshot" || frame.type === "delta") onEvents(frame.type, frame.events, frame);
    });
    socket.addEventListener("close", (ev) => {
      onState(ev.code === 4401 ? "signed out" : "reconnecting…");
      if (ev.code === 4401) window.location.replace("/");
      if (!stopped) setTimeout(open, Math.min(10_000, 500 * 2 ** attempt++));
    });
  }
  open();
  return () => {
    stopped = true;
    if (socket) socket.close();
  };
}
