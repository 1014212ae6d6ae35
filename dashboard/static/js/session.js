// Tokens live in sessionStorage (per tab, gone when the tab closes); access tokens are refreshed before expiry.
const KEY = "cardiorehab.session";

export function saveSession(tokens) {
  const session = { ...tokens, expires_at_ms: Date.now() + tokens.expires_in * 1000 };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function loadSession() {
  const raw = sessionStorage.getItem(KEY);
  return raw ? JSON.parse(raw) : null;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

export async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  const res = await fetch("/api/v1/auth/token", { method: "POST", body });
  const data = await res.json();
  if (!res.ok) throw new Error(data.detail || `login failed (${res.status})`);
  return saveSession(data);
}

export async function freshSession() {
  const session = loadSession();
  if (!session) return null;
  if (session.expires_at_ms - Date.now() > 60_000) return session;
  const res = await fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: session.refresh_token }),
  });
  if (!res.ok) {
    clearSession();
    return null;
  }
  return saveSession(await res.json());
}

export async function requireSession() {
  const session = await freshSession();
  if (!session) {
    window.location.replace("/");
    throw new Error("not signed in");
  }
  return session;
}

export async function api(path, options = {}) {
  const session = await requireSession();
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${session.access_token}` };
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) {
    clearSession();
    window.location.replace("/");
  }
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error(data.detail || `${path}: HTTP ${res.status}`);
  return data;
}

export function homeFor(session) {
  return session.role === "patient" ? "/patient.html" : "/wall.html";
}
