// The REST API: JSON with the in-memory access token as a Bearer header, one refresh-and-retry on 401,
// and uploads through XMLHttpRequest for their progress events.

import * as auth from "./auth.js";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.code = body && body.code;
  }
}

function headers(json) {
  const result = { Accept: "application/json", "X-CSRFToken": auth.csrfToken() };
  if (json) result["Content-Type"] = "application/json";
  if (auth.token()) result.Authorization = `Bearer ${auth.token()}`;
  return result;
}

/** Same-origin path of a link the API built as an absolute URL (pagination `next`/`previous`). */
export function localPath(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

export async function api(method, path, body) {
  const send = () =>
    fetch(path, {
      method,
      credentials: "same-origin",
      headers: headers(body !== undefined && !(body instanceof FormData)),
      body: body === undefined || body instanceof FormData ? body : JSON.stringify(body),
    });
  let response = await send();
  if (response.status === 401 && auth.token()) {
    await auth.refresh();
    response = await send();
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);
/** A JSON object, or a FormData (multipart, for files). */
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

/** Every item of a paginated list (for short lists: rooms). */
export async function all(path, limit = 500) {
  const items = [];
  let next = path;
  while (next && items.length < limit) {
    const page = await get(next);
    items.push(...page.results);
    next = page.next ? localPath(page.next) : null;
  }
  return items;
}

/**
 * Upload one file as a multipart `file` part. Returns {promise, abort}; the promise resolves to the
 * stored file ({id, name, size, content_type, url}); onProgress gets a fraction from 0 to 1.
 */
export function upload(file, onProgress) {
  let xhr = null;
  let aborted = false;
  const attempt = () =>
    new Promise((resolve, reject) => {
      xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/files/");
      for (const [name, value] of Object.entries(headers(false))) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = null;
        }
        if (xhr.status === 201) resolve(data.files[0]);
        else reject(new ApiError(xhr.status, data));
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, { detail: "Network error." })));
      xhr.addEventListener("abort", () => reject(new ApiError(0, { detail: "Cancelled.", code: "aborted" })));
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  const promise = attempt().catch(async (error) => {
    if (error.status !== 401 || aborted) throw error;
    await auth.refresh();
    return attempt();
  });
  return {
    promise,
    abort() {
      aborted = true;
      if (xhr) xhr.abort();
    },
  };
}
