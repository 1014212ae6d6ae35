// Tokens live in sessionStorage (per tab, gone when the tab closes); access tokens are refreshed before expiry.
const KEY = "cardiorehab.session";

/** Where each role works. Roles without a page here use the API (their login gets a clear message). */
const HOMES = { patient: "/me.html", nurse: "/wall.html", charge_nurse: "/wall.html" };
const ROLE_NAMES = {
  patient: "patient",
  nurse: "nurse",
  charge_nurse: "charge nurse",
  clinic_admin: "clinic administrator",
  integration: "hospital integration",
  device: "device",
};

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

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
  if (!res.ok) throw new ApiError(data.detail || `login failed (${res.status})`, res.status);
  return data;
}

let refreshing = null;

async function refresh(session) {
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

/** The session, refreshed when its access token expires within a minute (or when `force`). One refresh at a time. */
export async function freshSession(force = false) {
  const session = loadSession();
  if (!session) return null;
  if (!force && session.expires_at_ms - Date.now() > 60_000) return session;
  refreshing ??= refresh(session).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function requireSession() {
  const session = await freshSession();
  if (!session) {
    window.location.replace("/");
    throw new Error("not signed in");
  }
  return session;
}

/** Call the API with the access token; JSON in and out; ApiError carries the status and the server's detail. */
export async function api(path, { json, ...options } = {}) {
  const session = await requireSession();
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${session.access_token}` };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(json);
  }
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) {
    clearSession();
    window.location.replace("/");
  }
  if (options.raw) {
    if (!res.ok) throw new ApiError(`${path}: HTTP ${res.status}`, res.status);
    return res;
  }
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(data.detail || `${path}: HTTP ${res.status}`, res.status);
  return data;
}

/** Every page of a list endpoint (follows `limit`/`offset` until a short page). */
export async function apiAll(path, limit = 500) {
  const items = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let offset = 0; offset <= 100_000; offset += limit) {
    const page = await api(`${path}${sep}limit=${limit}&offset=${offset}`);
    items.push(...page);
    if (page.length < limit) break;
  }
  return items;
}

export function homeFor(session) {
  return HOMES[session.role] ?? null;
}

export function roleName(role) {
  return ROLE_NAMES[role] ?? role;
}

export function isNurse(session) {
  return session.role === "nurse" || session.role === "charge_nurse";
}

/** The page header: who is signed in, and a working sign-out button. */
export function wireHeader(session) {
  const who = document.getElementById("who");
  if (who) who.textContent = `${session.display_name} (${roleName(session.role)})`;
  document.getElementById("logout")?.addEventListener("click", () => {
    clearSession();
    window.location.replace("/");
  });
}

/** Send users to the sign-in page with a message when their role has no business on this page. */
export function requireRole(session, allowed) {
  if (allowed.includes(session.role)) return true;
  const home = homeFor(session);
  if (home) window.location.replace(home);
  else window.location.replace("/?role=" + encodeURIComponent(session.role));
  return false;
}
