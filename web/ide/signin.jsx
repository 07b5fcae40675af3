// The front door's sign-in form: a tenant's API token exchanged for the IDE's session
// cookie, then the IDE itself at "/".

const form = document.getElementById("signin");
const input = document.getElementById("signin-token");
const message = document.getElementById("signin-message");

async function signIn(event) {
  event.preventDefault();
  const token = input.value.trim();
  if (!token) {
    message.textContent = "Paste a tenant's API token (atoll tenant create prints one).";
    input.focus();
    return;
  }
  const button = form.querySelector("button");
  button.disabled = true;
  message.textContent = "Signing in…";
  try {
    const response = await fetch("/api/v1/session", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ token }),
    });
    if (response.ok) {
      location.assign("/");
      return;
    }
    const payload = await response.json().catch(() => ({}));
    message.textContent = (payload.error && payload.error.message) || `Sign-in failed (HTTP ${response.status}).`;
  } catch (error) {
    message.textContent = `The server did not answer: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

if (form) form.addEventListener("submit", signIn);
