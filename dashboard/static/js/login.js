import { clearSession, homeFor, loadSession, login, roleName, saveSession } from "./session.js";

const error = document.getElementById("login-error");

function refuse(role) {
  clearSession();
  error.textContent =
    `This dashboard is for nurses and patients. A ${roleName(role)} account has no page here: ` +
    "use the API (documented at /api/docs) or ask your clinic administrator.";
  error.hidden = false;
}

const params = new URLSearchParams(window.location.search);
const existing = loadSession();
if (params.has("role")) refuse(params.get("role"));
else if (existing && homeFor(existing)) window.location.replace(homeFor(existing));

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = event.submitter;
  if (button) button.disabled = true;
  try {
    const tokens = await login(
      document.getElementById("username").value.trim().toLowerCase(),
      document.getElementById("password").value,
    );
    const home = homeFor(tokens);
    if (!home) {
      refuse(tokens.role);
      return;
    }
    saveSession(tokens);
    window.location.replace(home);
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    if (button) button.disabled = false;
  }
});
