// The pages' one way to the REST API: JSON in and out, the session cookie and CSRF token
// for writes, and the error envelope turned into an ApiError the page can show.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.details = error.details || {};
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function url(path, params = {}) {
  const u = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") u.searchParams.set(key, value);
  }
  return u.pathname + u.search;
}

async function request(method, path, { params, body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(url(path, params), {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path, params) => request("GET", path, { params });
export const post = (path, body) => request("POST", path, { body });
export const patch = (path, body) => request("PATCH", path, { body });
export const del = (path) => request("DELETE", path);
export const options = (path) => request("OPTIONS", path);

// Every page of a cursor- or offset-paged list, following `next` (at most `max` items).
export async function all(path, params, max = 1000) {
  const items = [];
  let page = await get(path, params);
  items.push(...page.results);
  while (page.next && items.length < max) {
    page = await get(page.next);
    items.push(...page.results);
  }
  return items;
}

// The API root lists the registered endpoints: a panel whose endpoint is not there (yet)
// skips the request instead of logging a 404 in the console.
let root = null;
export async function hasEndpoint(name) {
  root ??= get("/api/v1/").catch(() => ({}));
  return name in (await root);
}
