/* Talking to the service: the API key, fetch with it, errors as sentences, the caller's role. */

export const KEY_STORAGE = "reportqa.apiKey";

/* What the server asks of the caller: auth on (GET /health) and the key's role (GET /me). */
export const access = { auth: false, role: null };

export class ApiError extends Error {
  constructor(status, detail) {
    super(explainError(status, detail));
    this.status = status;
  }
}

function explainError(status, detail) {
  const text = typeof detail === "string" ? detail : JSON.stringify(detail);
  if (status === 401) return "需要有效的 API 密钥(点右上角“API 密钥”填写)。" + (text ? `(${text})` : "");
  if (status === 403) return "当前密钥没有权限执行此操作,需要管理员密钥。" + (text ? `(${text})` : "");
  if (status === 429) return "请求过于频繁,请稍后再试。" + (text ? `(${text})` : "");
  if (status === 0) return "无法连接服务:" + text;
  return `请求失败(${status}):${text || "未知错误"}`;
}

export function hasKey() {
  return Boolean(localStorage.getItem(KEY_STORAGE));
}

function authHeaders() {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/* fetch with the API key; only a network failure throws. */
export async function send(path, options = {}) {
  const headers = { ...authHeaders(), ...(options.headers || {}) };
  try {
    return await fetch(path, { ...options, headers });
  } catch (err) {
    throw new ApiError(0, err.message);
  }
}

export async function errorOf(response) {
  let detail = response.statusText;
  try { detail = (await response.json()).detail ?? detail; } catch (_) { /* not JSON */ }
  return new ApiError(response.status, detail);
}

/* send(), and a non-2xx answer becomes an ApiError carrying the server's `detail`. */
export async function request(path, options = {}) {
  const response = await send(path, options);
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function getJSON(path) {
  return (await request(path)).json();
}

export async function postJSON(path, body) {
  const response = await request(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

/* Upload and removal are for admins: anyone in open mode, else an admin's key (GET /me). */
export function mayAdminister() {
  return !access.auth || access.role === "admin";
}

export async function loadRole() {
  access.role = null;
  if (!access.auth || !hasKey()) return;
  try {
    access.role = (await getJSON("/me")).role;
  } catch (err) {
    access.role = null;  // a wrong key: the lists say why
  }
}
