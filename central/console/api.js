// Talking to central: the bearer token, JSON calls, and the live event stream.
// The stream is read with fetch() (not EventSource) so it can carry the token.

const TOKEN_KEY = "corridor.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const result = { ...extra };
  const t = token();
  if (t) result.Authorization = `Bearer ${t}`;
  return result;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(`/api/v1${path}`, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data && data.detail ? data.detail : response.statusText);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);
export const put = (path, body) => api("PUT", path, body);
export const patch = (path, body) => api("PATCH", path, body);

export async function login(username, password) {
  const me = await post("/auth/login", { username, password });
  setToken(me.token);
  return me;
}

// Calls onEvent(kind, data) for each event; onState("live" | "down"). Reconnects.
export function liveStream(onEvent, onState) {
  let stopped = false;
  let controller = null;
  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const response = await fetch("/api/v1/live", { headers: headers(), signal: controller.signal });
        if (!response.ok) throw new ApiError(response.status, response.statusText);
        onState("live");
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            dispatch(block);
          }
        }
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && err.status === 401) onState("unauthorised");
      }
      onState("down");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  function dispatch(block) {
    let kind = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) kind = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (!data.length) return;
    try {
      onEvent(kind, JSON.parse(data.join("\n")));
    } catch (err) {
      console.error("bad live event", kind, err);
    }
  }
  run();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}

// Small DOM helpers shared by both pages.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// What someone is typing survives a re-render (live updates redraw lists all the time):
// the text, and the focus and cursor of the field they were typing in.
const drafts = new Map();
let typing = null; // { key, start, end } of the draft field that has the focus
export function draft(tag, key, attrs = {}) {
  const node = el(tag, attrs);
  node.value = drafts.get(key) || "";
  node.addEventListener("input", () => drafts.set(key, node.value));
  const remember = () => { typing = { key, start: node.selectionStart, end: node.selectionEnd }; };
  for (const event of ["focus", "input", "keyup", "select", "click"]) node.addEventListener(event, remember);
  // A field taken out by a re-render loses the focus too: only a real blur forgets it.
  node.addEventListener("blur", () => { if (node.isConnected && typing?.key === key) typing = null; });
  if (typing?.key === key) {
    const { start, end } = typing;
    queueMicrotask(() => {
      if (!node.isConnected || document.activeElement === node) return;
      node.focus();
      node.setSelectionRange(start, end);
    });
  }
  return node;
}
export function clearDraft(key) {
  drafts.delete(key);
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

export function clock(dueIso, nowMs = Date.now()) {
  if (!dueIso) return "";
  const left = Math.round((new Date(dueIso).getTime() - nowMs) / 1000);
  const sign = left < 0 ? "-" : "";
  const s = Math.abs(left);
  const text = `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  return left < 0 ? `overdue ${text}` : `${text} left`;
}
