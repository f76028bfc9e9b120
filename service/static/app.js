/* 政府工作报告问答: the page's behaviour. Plain DOM, no framework, no build step.
   Everything from the server is put in the page as text (never as HTML): report text is data. */
"use strict";

const KEY_STORAGE = "reportqa.apiKey";
const $ = (sel) => document.querySelector(sel);

const state = {
  documents: [],          // GET /documents
  docs: new Map(),        // doc_id -> {meta, sections (flat), length}
};

/* ---------- helpers ---------- */

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function toast(message) {
  const box = $("#toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

class ApiError extends Error {
  constructor(status, detail) {
    super(explainError(status, detail));
    this.status = status;
  }
}

function explainError(status, detail) {
  const text = typeof detail === "string" ? detail : JSON.stringify(detail);
  if (status === 401) return "需要有效的 API 密钥(点右上角“API 密钥”填写)。" + (text ? `(${text})` : "");
  if (status === 403) return "当前密钥没有权限执行此操作,需要管理员密钥。" + (text ? `(${text})` : "");
  if (status === 0) return "无法连接服务:" + text;
  return `请求失败(${status}):${text || "未知错误"}`;
}

function authHeaders() {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/* fetch with the API key; a non-2xx answer becomes an ApiError carrying the server's `detail`. */
async function request(path, options = {}) {
  const headers = { ...authHeaders(), ...(options.headers || {}) };
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (err) {
    throw new ApiError(0, err.message);
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail ?? detail; } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

async function getJSON(path) {
  return (await request(path)).json();
}

async function postJSON(path, body) {
  const response = await request(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

function docLabel(doc) {
  return doc.title || doc.doc_id;
}

/* ---------- tabs, health, key ---------- */

function showTab(name) {
  document.querySelectorAll(".tabs button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  document.querySelectorAll("section.tab").forEach((s) => { s.hidden = s.dataset.tab !== name; });
  if (name === "ask") $("#question").focus();
}

async function loadHealth() {
  try {
    const h = await getJSON("/health");
    $("#health").textContent = h.status === "ok"
      ? `已收录 ${h.documents} 份报告 · ${h.chunks} 个片段`
      : "尚无索引:请先上传或导入报告";
  } catch (err) {
    $("#health").textContent = err.status === 401 ? "需要 API 密钥" : "服务不可用";
  }
}

function setupKeyDialog() {
  const dialog = $("#key-dialog");
  $("#key-button").addEventListener("click", () => {
    $("#key-input").value = localStorage.getItem(KEY_STORAGE) || "";
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "save" && $("#key-input").value.trim()) {
      localStorage.setItem(KEY_STORAGE, $("#key-input").value.trim());
      toast("密钥已保存在本浏览器中");
    } else if (dialog.returnValue === "clear") {
      localStorage.removeItem(KEY_STORAGE);
      toast("密钥已清除");
    } else {
      return;
    }
    refreshAll();
  });
}

/* ---------- documents: filters, list, briefing checklist ---------- */

async function loadDocuments() {
  try {
    const data = await getJSON("/documents");
    state.documents = data.documents;
  } catch (err) {
    state.documents = [];
    if (err.status !== 409) toast(err.message);   // 409: no index yet
  }
  state.docs.clear();
  renderFilters();
  renderReportRows();
  renderSummaryChecklist();
}

function fillSelect(select, values) {
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, "全部"), ...values.map((v) => el("option", { value: v }, v)));
  if (values.map(String).includes(current)) select.value = current;
}

function renderFilters() {
  const issuers = [...new Set(state.documents.map((d) => d.issuer).filter(Boolean))].sort();
  const years = [...new Set(state.documents.map((d) => d.year).filter(Boolean))].sort((a, b) => b - a);
  fillSelect($("#filter-issuer"), issuers);
  fillSelect($("#filter-year"), years);
}

function currentFilters() {
  const filters = {};
  if ($("#filter-issuer").value) filters.issuer = $("#filter-issuer").value;
  if ($("#filter-year").value) filters.year = Number($("#filter-year").value);
  return Object.keys(filters).length ? filters : null;
}

function renderReportRows() {
  $("#report-count").textContent = `(${state.documents.length} 份)`;
  const rows = state.documents.map((doc) => el("tr", { "data-doc-id": doc.doc_id },
    el("td", {}, el("button", { class: "link", type: "button", onclick: () => openReport(doc.doc_id) }, docLabel(doc))),
    el("td", {}, doc.issuer || "—"),
    el("td", { class: "num" }, doc.year ?? "—"),
    el("td", { class: "num" }, doc.doc_number || "—"),
    el("td", { class: "num" }, doc.n_chunks),
    el("td", { class: "actions" },
      el("button", { class: "secondary", type: "button", onclick: () => openReport(doc.doc_id) }, "阅读")),
  ));
  $("#report-rows").replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "还没有收录任何报告。"))]));
}

function renderSummaryChecklist() {
  const items = state.documents.map((doc) => el("label", {},
    el("input", { type: "checkbox", name: "doc", value: doc.doc_id }), " ",
    `${docLabel(doc)}${doc.year ? `(${doc.year})` : ""}`));
  $("#summary-docs").replaceChildren(...(items.length ? items : [el("span", { class: "muted" }, "还没有收录任何报告。")]));
}

/* ---------- ask ---------- */

function appendToConversation(node) {
  $("#ask-hint")?.remove();
  $("#conversation").append(node);
  node.scrollIntoView({ block: "end", behavior: "smooth" });
}

function citationList(citations) {
  return el("ol", { class: "citations" }, citations.map((c, i) => el("li", {},
    el("button", { class: "cite", type: "button", "data-cite": i + 1, onclick: () => openCitation(c) },
      el("span", { class: "cite-no" }, i + 1),
      el("span", { class: "cite-body" },
        el("span", { class: "cite-src" }, [c.title || c.doc_id, ...c.section_path].join(" › ")),
        el("span", { class: "cite-quote" }, c.quote))))));
}

function renderAnswer(card, answer) {
  card.className = answer.found ? "answer" : "answer not-found";
  const parts = [];
  if (!answer.found) parts.push(el("span", { class: "badge" }, "未找到答案"));
  else if (answer.answer) parts.push(el("div", { class: "figure" }, answer.answer));
  parts.push(el("p", { class: "answer-text" }, answer.text));
  if (answer.note) parts.push(el("p", { class: "note" }, answer.note));
  if (answer.citations?.length) parts.push(citationList(answer.citations));
  card.replaceChildren(...parts);
}

function renderError(card, err) {
  card.className = "answer error";
  card.replaceChildren(el("p", { class: "answer-text" }, err.message));
}

async function ask(question) {
  appendToConversation(el("div", { class: "msg-user" }, question));
  const card = el("div", { class: "answer pending" }, el("p", { class: "muted" }, "正在查找…"));
  appendToConversation(card);
  const body = { question };
  const filters = currentFilters();
  if (filters) body.filters = filters;
  try {
    renderAnswer(card, await postJSON("/ask", body));
  } catch (err) {
    renderError(card, err);
  }
  card.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function setupAsk() {
  const form = $("#ask-form");
  const box = $("#question");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = box.value.trim();
    if (!question) return;
    box.value = "";
    $("#ask-submit").disabled = true;
    try { await ask(question); } finally { $("#ask-submit").disabled = false; box.focus(); }
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  document.querySelectorAll(".example").forEach((b) => b.addEventListener("click", () => {
    box.value = b.textContent;
    form.requestSubmit();
  }));
  $("#new-conversation").addEventListener("click", resetConversation);
}

function resetConversation() {
  $("#conversation").replaceChildren(el("div", { class: "empty-hint", id: "ask-hint" },
    el("p", { class: "muted" }, "新对话已开始,请输入问题。")));
  $("#question").focus();
}

/* ---------- reader: a report by section, a citation in its section ---------- */

function flattenSections(sections, path = [], out = []) {
  for (const s of sections) {
    const entry = { heading: s.heading, start: s.char_start, end: s.char_end, path: [...path, s.heading], children: [] };
    out.push(entry);
    flattenSections(s.children || [], entry.path, entry.children);
  }
  return out;
}

async function loadDoc(docId) {
  if (!state.docs.has(docId)) {
    const [meta, probe] = await Promise.all([
      getJSON(`/documents/${encodeURIComponent(docId)}`),
      getJSON(`/documents/${encodeURIComponent(docId)}/text?start=0&end=0`),
    ]);
    state.docs.set(docId, { meta, sections: flattenSections(meta.sections || []), length: probe.length });
  }
  return state.docs.get(docId);
}

/* The deepest section holding [start, end), or null. */
function sectionAt(sections, start) {
  for (const s of sections) {
    if (s.start <= start && start < s.end) return sectionAt(s.children, start) || s;
  }
  return null;
}

/* The spans a report is read in: its front matter, each section, its closing lines. */
function readingSpans(doc) {
  const top = doc.sections;
  if (!top.length) return [{ heading: "全文", start: 0, end: doc.length, path: [], children: [] }];
  const spans = [];
  if (top[0].start > 0) spans.push({ heading: "开头", start: 0, end: top[0].start, path: ["开头"], children: [] });
  spans.push(...top);
  const last = top[top.length - 1].end;
  if (last < doc.length) spans.push({ heading: "结尾", start: last, end: doc.length, path: ["结尾"], children: [] });
  return spans;
}

function renderToc(doc, spans, current) {
  const list = (items) => items.map((s) => el("li", {},
    el("button", { type: "button", class: s === current ? "current" : null, onclick: () => showSpan(doc, s) }, s.heading),
    s.children.length ? el("ol", {}, list(s.children)) : null));
  $("#reader-toc").replaceChildren(...list(spans));
}

const MAX_SPAN_CHARS = 12000;   // a section longer than this is shown around the passage

async function showSpan(doc, span, highlight = null) {
  let { start, end } = span;
  if (highlight && end - start > MAX_SPAN_CHARS) {
    start = Math.max(span.start, highlight.start - 2000);
    end = Math.min(span.end, highlight.end + 2000);
  }
  const spans = readingSpans(doc);
  renderToc(doc, spans, span);
  $("#reader-path").replaceChildren(...(span.path.length ? span.path : ["全文"]).map((h) => el("span", {}, h)));
  const box = $("#reader-text");
  box.replaceChildren(el("p", { class: "muted" }, "正在载入原文…"));
  const data = await getJSON(`/documents/${encodeURIComponent(doc.meta.doc_id)}/text?start=${start}&end=${end}`);
  const text = data.text;
  if (highlight) {
    const a = highlight.start - start;
    const b = highlight.end - start;
    const mark = el("mark", { id: "passage" }, text.slice(a, b));
    box.replaceChildren(text.slice(0, a), mark, text.slice(b));
    mark.scrollIntoView({ block: "center" });
  } else {
    box.replaceChildren(text);
    box.parentElement.scrollTop = 0;
  }
}

function showReader(doc) {
  const m = doc.meta;
  $("#reader-title").textContent = docLabel(m);
  $("#reader-meta").textContent = [m.issuer, m.year && `${m.year} 年度`, m.doc_number, m.publish_date && `发布于 ${m.publish_date}`]
    .filter(Boolean).join(" · ");
  $("#reader").hidden = false;
  document.body.style.overflow = "hidden";
  $("#reader-toc-wrap").open = window.matchMedia("(min-width: 641px)").matches;
}

function closeReader() {
  $("#reader").hidden = true;
  document.body.style.overflow = "";
}

async function openReport(docId) {
  try {
    const doc = await loadDoc(docId);
    showReader(doc);
    await showSpan(doc, readingSpans(doc)[0]);
  } catch (err) {
    toast(err.message);
  }
}

async function openCitation(citation) {
  try {
    const doc = await loadDoc(citation.doc_id);
    showReader(doc);
    const span = sectionAt(readingSpans(doc), citation.char_start)
      || { heading: "全文", start: 0, end: doc.length, path: citation.section_path, children: [] };
    await showSpan(doc, span, { start: citation.char_start, end: citation.char_end });
  } catch (err) {
    toast(err.message);
  }
}

function setupReader() {
  $("#reader-close").addEventListener("click", closeReader);
  $("#reader").addEventListener("click", (event) => { if (event.target.id === "reader") closeReader(); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !$("#reader").hidden) closeReader(); });
}

/* ---------- start ---------- */

async function refreshAll() {
  await Promise.all([loadHealth(), loadDocuments()]);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  setupKeyDialog();
  setupAsk();
  setupReader();
  refreshAll();
});
