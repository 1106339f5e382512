// Tokens: the access token lives in this module's memory only; the refresh token stays in its HttpOnly
// cookie, so a reload signs in again with POST /auth/token/refresh/ (cookie + X-CSRFToken).

const AUTH = "/api/v1/auth/";
// Not a credential: only remembers that this browser signed in, to skip a refresh doomed to fail.
const HINT = "chat.signedIn";
let access = null;
let claims = null;
let receivedAt = 0;
let timer = null;
let inflight = null;
let generation = 0;
const tokenListeners = new Set();
const signedOutListeners = new Set();

export class AuthError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.code = body && body.code;
  }
}

export const token = () => access;
export const userId = () => (claims ? Number(claims.user_id) : null);
export const onToken = (fn) => tokenListeners.add(fn);
export const onSignedOut = (fn) => signedOutListeners.add(fn);

export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "csrftoken") return decodeURIComponent(rest.join("="));
  }
  return "";
}

async function ensureCsrf() {
  if (!csrfToken()) await fetch(`${AUTH}csrf/`, { credentials: "same-origin" });
}

/** The payload of a JWT, unverified (only to read exp/iat; the server verifies). */
export function decodeJwt(jwt) {
  const part = jwt.split(".")[1] || "";
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body || {}),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new AuthError(response.status, data);
  return data;
}

function setAccess(jwt) {
  access = jwt;
  claims = decodeJwt(jwt);
  receivedAt = Date.now();
  remember(true);
  schedule();
  for (const fn of tokenListeners) fn(access);
}

/** Milliseconds until a refresh is due: a minute before exp, measured on our clock from iat. */
function refreshDelay() {
  const lifetime = (claims.exp - (claims.iat || claims.exp - 300)) * 1000;
  const lead = lifetime > 180000 ? 60000 : lifetime / 4;
  return Math.max(5000, receivedAt + lifetime - lead - Date.now());
}

function schedule(delay = refreshDelay()) {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    try {
      await refresh();
    } catch (error) {
      // The network is down (or the server): try again soon; a 401 already signed us out.
      if (!(error instanceof AuthError)) schedule(5000 + Math.random() * 5000);
    }
  }, delay);
}

/** Exchange the refresh cookie for a new access token. One request at a time; 401 signs out. */
export function refresh() {
  if (inflight) return inflight;
  const mine = generation;
  const hadToken = access !== null;
  inflight = (async () => {
    try {
      await ensureCsrf();
      let data;
      try {
        data = await post(`${AUTH}token/refresh/`);
      } catch (error) {
        // Another tab may have rotated the refresh cookie a moment ago: once more with the new one.
        if (!(error instanceof AuthError) || error.status !== 401 || error.code === "not_authenticated") throw error;
        await new Promise((resolve) => setTimeout(resolve, 400));
        data = await post(`${AUTH}token/refresh/`);
      }
      if (mine !== generation) throw new AuthError(401, { detail: "Signed out." });
      setAccess(data.access);
      return access;
    } catch (error) {
      if (error instanceof AuthError && error.status === 401 && hadToken && mine === generation) {
        signedOut("expired");
      }
      throw error;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

function remember(signedIn) {
  try {
    if (signedIn) localStorage.setItem(HINT, "1");
    else localStorage.removeItem(HINT);
  } catch {
    // storage disabled: every load tries the refresh cookie
  }
}

function remembered() {
  try {
    return localStorage.getItem(HINT) === "1";
  } catch {
    return true;
  }
}

/** On page load: true when the refresh cookie still signs us in. */
export async function restore() {
  if (!remembered()) return false;
  try {
    await refresh();
    return true;
  } catch (error) {
    if (error instanceof AuthError) return false;
    throw error;
  }
}

export async function signIn(username, password) {
  await ensureCsrf();
  const data = await post(`${AUTH}token/`, { username, password });
  setAccess(data.access);
}

export async function signUp({ username, password, display_name }) {
  await ensureCsrf();
  const body = { username, password };
  if (display_name) body.display_name = display_name;
  await post("/api/v1/users/", body);
  await signIn(username, password);
}

export async function signOut() {
  try {
    await post(`${AUTH}logout/`);
  } finally {
    signedOut("signed_out");
  }
}

/** Forget the token and tell the app (reason: signed_out, expired, user_gone). */
export function signedOut(reason) {
  generation += 1;
  clearTimeout(timer);
  access = null;
  claims = null;
  remember(false);
  for (const fn of signedOutListeners) fn(reason);
}
