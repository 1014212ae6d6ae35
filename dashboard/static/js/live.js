// The live feed (docs/api.md): authenticate, subscribe, then a snapshot and deltas. Every frame's cursor is kept;
// after a dropped connection the client resubscribes with it and gets exactly what it missed (`resume`), or a
// `gap` (the cursor is older than the server's replay buffer) followed by a fresh snapshot.
import { freshSession, requireSession } from "./session.js";

const MAX_BACKOFF_MS = 10_000;

/**
 * @param {object} subscribe  `{patient_id}` or `{scope: "clinic"}`
 * @param {object} handlers   `onEvents(type, events, frame)` for snapshot/resume/delta, `onGap(detail)`,
 *                            `onState(state, detail)` with state "connecting" | "live" | "reconnecting" | "forbidden"
 */
export function connectLive(subscribe, { onEvents, onGap = () => {}, onState = () => {} }) {
  let attempt = 0;
  let socket = null;
  let stopped = false;
  let cursor = null;
  let forceRefresh = false;
  const stats = { connects: 0, resumes: 0, gaps: 0, frames: 0 };

  async function open() {
    if (stopped) return;
    onState(attempt ? "reconnecting" : "connecting");
    const session = forceRefresh ? await freshSession(true) : await requireSession().catch(() => null);
    forceRefresh = false;
    if (!session) {
      window.location.replace("/");
      return;
    }
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/api/v1/live`);
    socket = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "auth", token: session.access_token }));
      ws.send(JSON.stringify({ type: "subscribe", ...subscribe, ...(cursor ? { resume: cursor } : {}) }));
      stats.connects += 1;
    });
    ws.addEventListener("message", (msg) => {
      const frame = JSON.parse(msg.data);
      stats.frames += 1;
      if (frame.type === "gap") {
        stats.gaps += 1;
        cursor = null;
        onGap(frame.detail);
        return;
      }
      if (frame.cursor) cursor = frame.cursor;
      if (frame.type === "snapshot" || frame.type === "resume") {
        if (frame.type === "resume") stats.resumes += 1;
        attempt = 0;
        onState("live");
      }
      if (frame.type === "snapshot" || frame.type === "resume" || frame.type === "delta") {
        onEvents(frame.type, frame.events, frame);
      }
    });
    ws.addEventListener("close", (ev) => {
      if (socket !== ws) return;
      socket = null;
      if (stopped) return;
      if (ev.code === 4403) {
        stopped = true;
        onState("forbidden", ev.reason);
        return;
      }
      if (ev.code === 4401) forceRefresh = true; // the access token expired while we were away
      if (ev.code === 4400) cursor = null; // a cursor the server cannot read: start over with a snapshot
      onState("reconnecting", ev.reason);
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt++);
      setTimeout(open, delay);
    });
  }

  open();
  return {
    stats,
    close() {
      stopped = true;
      socket?.close();
    },
  };
}
