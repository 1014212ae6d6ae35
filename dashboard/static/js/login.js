import { homeFor, loadSession, login } from "./session.js";

const existing = loadSession();
if (existing) window.location.replace(homeFor(existing));

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.hidden = true;
  try {
    const session = await login(
      document.getElementById("username").value.trim().toLowerCase(),
      document.getElementById("password").value,
    );
    window.location.replace(homeFor(session));
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
});
