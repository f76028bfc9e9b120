/* 政府工作报告问答: the page's behaviour. Plain DOM, no framework, no build step.
   Everything from the server is put in the page as text (never as HTML): report text is data. */
"use strict";

const KEY_STORAGE = "reportqa.apiKey";
const CONVERSATION_STORAGE = "reportqa.conversation";
const $ = (sel) => document.querySelector(sel);

const state = {
  documents: [],          // GET /documents
  docs: new Map(),        // doc_id -> {meta, sections (flat), length}
  messages: [],           // the conversation so far, as OpenAI chat messages
  turns: [],              // the same as shown: [{question, answer}]
  auth: false,            // the server asks for API keys (GET /health)
  role: null,             // the key's role when auth is on (GET /me)
  documentsError: null,   // why GET /documents failed, shown where the list would be
  returnFocus: null,      // what had the focus before the reader opened
};

/* Upload and removal are for admins: anyone in open mode, else an admin's key (GET /me). */
function mayAdminister() {
  return !state.auth || state.role === "admin";
}

async function loadRole() {
  state.role = null;
  if (!state.auth || !localStorage.getItem(KEY_STORAGE)) return;
  try {
    state.role = (await getJSON("/me")).role;
  } catch (err) {
    state.role = null;  // a wrong key: the lists say why
  }
}

/* ---------- helpers ---------- */

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
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
  if (status === 429) return "请求过于频繁,请稍后再试。" + (text ? `(${text})` : "");
  if (status === 0) return "无法连接服务:" + text;
  return `请求失败(${status}):${text || "未知错误"}`;
}

function authHeaders() {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/* fetch with the API key; only a network failure throws. */
async function send(path, options = {}) {
  const headers = { ...authHeaders(), ...(options.headers || {}) };
  try {
    return await fetch(path, { ...options, headers });
  } catch (err) {
    throw new ApiError(0, err.message);
  }
}

async function errorOf(response) {
  let detail = response.statusText;
  try { detail = (await response.json()).detail ?? detail; } catch (_) { /* not JSON */ }
  return new ApiError(response.status, detail);
}

/* send(), and a non-2xx answer becomes an ApiError carrying the server's `detail`. */
async function request(path, options = {}) {
  const response = await send(path, options);
  if (!response.ok) throw await errorOf(response);
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
    state.auth = Boolean(h.auth);
    $("#mode-label").hidden = !h.llm_configured;
    $("#health").textContent = h.status === "ok"
      ? `已收录 ${h.documents} 份报告 · ${h.chunks} 个片段`
      : "尚无索引:请先上传或导入报告";
    const keyNeeded = state.auth && !localStorage.getItem(KEY_STORAGE);
    if (keyNeeded) $("#health").textContent += " · 需要 API 密钥";
    $("#key-button").classList.toggle("needed", keyNeeded);
  } catch (err) {
    $("#health").textContent = "服务不可用";
    $("#health").title = err.message;
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
  state.documentsError = null;
  try {
    const data = await getJSON("/documents");
    state.documents = data.documents;
  } catch (err) {
    state.documents = [];
    if (err.status !== 409) state.documentsError = err.message;   // 409: no index yet
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

/* What stands in an empty list: the reason the list could not be read, or that there is nothing. */
function emptyNote() {
  return state.documentsError ? `无法读取报告列表:${state.documentsError}` : "还没有收录任何报告。";
}

function renderReportRows() {
  $("#report-count").textContent = state.documentsError ? "" : `(${state.documents.length} 份)`;
  const rows = state.documents.map((doc) => el("tr", { "data-doc-id": doc.doc_id },
    el("td", {}, el("button", { class: "link", type: "button", onclick: () => openReport(doc.doc_id) }, docLabel(doc))),
    el("td", { class: "num" }, doc.issuer || "—"),
    el("td", { class: "num" }, doc.year ?? "—"),
    el("td", { class: "num" }, doc.doc_number || "—"),
    el("td", { class: "num" }, doc.n_chunks),
    el("td", { class: "actions" },
      el("button", { class: "secondary", type: "button", onclick: () => openReport(doc.doc_id) }, "阅读"),
      mayAdminister() ? el("button", { class: "danger", type: "button", onclick: () => removeReport(doc) }, "删除") : null),
  ));
  $("#upload-panel").hidden = !mayAdminister();
  $("#admin-hint").hidden = mayAdminister();
  $("#report-rows").replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, emptyNote()))]));
}

function renderSummaryChecklist() {
  const items = state.documents.map((doc) => el("label", {},
    el("input", { type: "checkbox", name: "doc", value: doc.doc_id }), " ",
    `${docLabel(doc)}${doc.year ? `(${doc.year})` : ""}`));
  $("#summary-docs").replaceChildren(...(items.length ? items : [el("span", { class: "muted" }, emptyNote())]));
}

const STATUS_NAMES = { added: "已添加", replaced: "已替换(内容有更新)", skipped: "已跳过(内容未变)", failed: "失败" };

function renderUploadResults(body) {
  const items = (body.files || []).map((f) => el("li", { class: f.status },
    `${f.filename}:${STATUS_NAMES[f.status] || f.status}`,
    f.chunks ? `,${f.chunks} 个片段` : "",
    f.reason ? `。原因:${f.reason}` : "",
    f.note ? `。注意:${f.note}` : ""));
  $("#upload-results").replaceChildren(...items);
}

function showChosenFiles() {
  const names = [...$("#upload-files").files].map((f) => f.name);
  $("#upload-names").textContent = names.length ? `已选 ${names.length} 个:${names.join("、")}` : "未选择文件";
}

async function uploadReports(event) {
  event.preventDefault();
  const files = $("#upload-files").files;
  if (!files.length) { toast("请先选择文件"); return; }
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  if ($("#upload-issuer").value.trim()) form.append("issuer", $("#upload-issuer").value.trim());
  if ($("#upload-year").value) form.append("year", $("#upload-year").value);
  const button = $("#upload-form button[type=submit]");
  button.disabled = true;
  $("#upload-results").replaceChildren(el("li", { class: "muted" }, `正在导入 ${files.length} 个文件…`));
  try {
    const response = await send("/documents", { method: "POST", body: form });
    const body = response.ok || response.status === 422 ? await response.json() : null;
    if (!body?.files) throw await errorOf(response);
    renderUploadResults(body);
    $("#upload-files").value = "";
    showChosenFiles();
    await refreshAll();
  } catch (err) {
    $("#upload-results").replaceChildren(el("li", { class: "failed" }, err.message));
  } finally {
    button.disabled = false;
  }
}

async function removeReport(doc) {
  if (!window.confirm(`确定从索引中删除《${docLabel(doc)}》吗?删除后将无法再检索到它。`)) return;
  try {
    await request(`/documents/${encodeURIComponent(doc.doc_id)}`, { method: "DELETE" });
    toast(`已删除《${docLabel(doc)}》`);
    await refreshAll();
  } catch (err) {
    toast(err.message);
  }
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
  parts.push(el("p", { class: "answer-text" }, sentenceWithRefs(answer.text, answer.citations || [])));
  if (answer.note) parts.push(el("p", { class: "note" }, answer.note));
  if (answer.citations?.length) parts.push(citationList(answer.citations));
  if (answer.rewritten) parts.unshift(el("p", { class: "muted rewritten" }, `按“${answer.rewritten}”回答`));
  card.replaceChildren(...parts);
}

/* The conversation survives a reload of the page (this tab only), not a new conversation. */
function saveConversation() {
  sessionStorage.setItem(CONVERSATION_STORAGE, JSON.stringify({ messages: state.messages, turns: state.turns }));
}

function restoreConversation() {
  const saved = JSON.parse(sessionStorage.getItem(CONVERSATION_STORAGE) || "null");
  if (!saved?.turns?.length) return;
  state.messages = saved.messages;
  state.turns = saved.turns;
  for (const turn of saved.turns) {
    appendToConversation(el("div", { class: "msg-user" }, turn.question));
    const card = el("div", { class: "answer" });
    renderAnswer(card, turn.answer);
    appendToConversation(card);
  }
}

function renderError(card, err) {
  card.className = "answer error";
  card.replaceChildren(el("p", { class: "answer-text" }, err.message));
}

const HISTORY_MESSAGES = 12;   // earlier messages sent along: enough for follow-ups to resolve

/* Server-sent events of /v1/chat/completions: calls onContent with the content so far,
   returns the whole content and the final chunk (finish_reason set; it carries the citations). */
async function streamCompletion(body, onContent) {
  const response = await request("/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let content = "";
  let final = null;
  const handle = (event) => {
    const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
    if (!data || data === "[DONE]") return;
    const chunk = JSON.parse(data);
    const choice = chunk.choices?.[0] || {};
    if (choice.delta?.content) {
      content += choice.delta.content;
      onContent(content);
    }
    if (choice.finish_reason) final = chunk;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      handle(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
    }
  }
  if (buffer.trim()) handle(buffer);
  if (!final) throw new ApiError(0, "回答没有完整传回,请重试");
  return { content, final };
}

/* The answer sentence of a streamed content: its first paragraph, [n] markers and all (the
   footnotes after it are shown as the citation list instead). */
function sentenceOf(content) {
  return content.split("\n\n")[0];
}

/* The sentence as text while it streams: markers (and a marker cut in half) left out. */
function plainSentence(sentence) {
  return sentence.replace(/\[\d+\]/g, "").replace(/\[\d*$/, "");
}

/* The sentence with each [n] as a superscript that opens citation n. */
function sentenceWithRefs(sentence, citations) {
  return sentence.split(/\[(\d+)\]/).map((part, i) => {
    if (i % 2 === 0) return part;
    const citation = citations[Number(part) - 1];
    return citation
      ? el("sup", {
        class: "ref", role: "button", tabindex: "0", title: "查看原文", onclick: () => openCitation(citation),
        onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); openCitation(citation); } },
      }, `[${part}]`)
      : "";
  });
}

function noteOf(content) {
  const note = content.split("\n\n").find((p) => p.startsWith("注:"));
  return note ? note.slice(2) : null;
}

async function ask(question) {
  appendToConversation(el("div", { class: "msg-user" }, question));
  const waiting = el("p", { class: "muted" }, "正在查找…");
  const sentence = el("p", { class: "answer-text streaming" });
  const card = el("div", { class: "answer pending" }, waiting, sentence);
  appendToConversation(card);
  const messages = [...state.messages.slice(-HISTORY_MESSAGES), { role: "user", content: question }];
  const body = { model: $("#answer-mode").value || "reportqa", stream: true, messages };
  const filters = currentFilters();
  if (filters) body.filters = filters;
  try {
    const { content, final } = await streamCompletion(body, (soFar) => {
      waiting.remove();
      sentence.textContent = plainSentence(sentenceOf(soFar));
    });
    const answer = {
      found: final.found,
      answer: final.figure?.raw ?? final.answer ?? null,
      text: sentenceOf(content),
      note: noteOf(content),
      citations: final.citations || [],
      rewritten: final.rewritten_question !== question ? final.rewritten_question : null,
    };
    state.messages = [...messages, { role: "assistant", content }];
    state.turns.push({ question, answer });
    saveConversation();
    renderAnswer(card, answer);
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
  state.messages = [];
  state.turns = [];
  sessionStorage.removeItem(CONVERSATION_STORAGE);
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
    const cut = (shown) => (shown ? el("span", { class: "more muted" }, "……(本节较长,此处只显示引文前后;点目录中的本节可读全节)") : null);
    box.replaceChildren(...[cut(start > span.start), text.slice(0, a), mark, text.slice(b), cut(end < span.end)]
      .filter((part) => part !== null));
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
  if ($("#reader").hidden) state.returnFocus = document.activeElement;
  $("#reader").hidden = false;
  document.body.style.overflow = "hidden";
  $("#reader-close").focus();
  $("#reader-toc-wrap").open = window.matchMedia("(min-width: 641px)").matches;
}

function closeReader() {
  $("#reader").hidden = true;
  document.body.style.overflow = "";
  state.returnFocus?.focus();
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

/* ---------- briefings ---------- */

const STYLE_NAMES = { briefing: "综述简报", key_figures: "关键数据", sections: "分章节摘要" };

function summaryRequest(format) {
  const docIds = [...document.querySelectorAll("#summary-docs input:checked")].map((i) => i.value);
  const style = document.querySelector("#summary-form input[name=style]:checked").value;
  return { doc_ids: docIds, style, format };
}

function citedLines(items, citations) {
  return items.map((item) => el("p", { class: "point" }, item.text, " ", sentenceWithRefs(`[${item.citation}]`, citations)));
}

function figureTable(rows, citations) {
  return el("div", { class: "table-wrap" }, el("table", { class: "reports figures" },
    el("thead", {}, el("tr", {}, el("th", {}, "指标"), el("th", {}, "数值"), el("th", {}, "章节"), el("th", {}, "出处"))),
    el("tbody", {}, rows.map((r) => el("tr", {},
      el("td", {}, r.metric), el("td", { class: "num strong" }, r.raw), el("td", {}, r.section),
      el("td", {}, sentenceWithRefs(`[${r.citation}]`, citations)))))));
}

function comparisonTable(comparison, citations) {
  return el("div", { class: "table-wrap" }, el("table", { class: "reports figures" },
    el("thead", {}, el("tr", {}, el("th", {}, "指标"), comparison.columns.map((c) => el("th", {}, c)))),
    el("tbody", {}, comparison.rows.map((row) => el("tr", {}, el("td", {}, row.metric),
      row.cells.map((cell) => el("td", { class: "num" },
        cell ? [cell.raw, " ", sentenceWithRefs(`[${cell.citation}]`, citations)] : "—")))))));
}

function reportPart(report, citations) {
  const meta = [report.issuer, report.year && `${report.year} 年度`, report.publish_date].filter(Boolean).join(" · ");
  const parts = [el("h3", {}, report.title), el("p", { class: "muted" }, meta)];
  if (report.headline.length) parts.push(el("h4", {}, "要点"), ...citedLines(report.headline, citations));
  if (report.key_figures.length) parts.push(el("h4", {}, "关键数据"), figureTable(report.key_figures, citations));
  for (const section of report.sections) parts.push(el("h4", {}, section.heading), ...citedLines(section.sentences, citations));
  if (report.problems.length) parts.push(el("h4", {}, "存在问题"), ...citedLines(report.problems, citations));
  if (report.plans.length) parts.push(el("h4", {}, "下一步工作"), ...citedLines(report.plans, citations));
  return el("div", { class: "report-part" }, parts);
}

function downloadButton(label, format) {
  return el("button", { type: "button", class: "secondary", "data-format": format, onclick: () => downloadSummary(format) }, label);
}

function renderSummary(summary) {
  const citations = summary.citations || [];
  const parts = [
    el("h2", {}, summary.title),
    el("div", { class: "downloads" }, downloadButton("下载 Word(DOCX)", "docx"), downloadButton("下载 Markdown", "md")),
  ];
  if (summary.note) parts.push(el("p", { class: "note" }, summary.note));
  if (summary.comparison) parts.push(el("h3", {}, "对比"), comparisonTable(summary.comparison, citations));
  parts.push(...summary.reports.map((r) => reportPart(r, citations)));
  if (citations.length) parts.push(el("h3", {}, "出处"), citationList(citations));
  $("#summary-result").replaceChildren(el("div", { class: "summary" }, parts));
}

function filenameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

async function downloadSummary(format) {
  try {
    const response = await request("/summaries", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(summaryRequest(format)),
    });
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: filenameOf(response, `summary-${summaryRequest(format).style}.${format}`) });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(err.message);
  }
}

function setupSummaries() {
  $("#summary-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = summaryRequest("json");
    if (!body.doc_ids.length) { toast("请至少选择一份报告"); return; }
    const button = $("#summary-submit");
    button.disabled = true;
    $("#summary-result").replaceChildren(el("p", { class: "muted" }, `正在生成${STYLE_NAMES[body.style]}…`));
    try {
      renderSummary(await postJSON("/summaries", body));
    } catch (err) {
      $("#summary-result").replaceChildren(el("div", { class: "answer error" }, el("p", {}, err.message)));
    } finally {
      button.disabled = false;
    }
  });
}

/* ---------- start ---------- */

async function refreshAll() {
  await loadHealth();
  await loadRole();
  await loadDocuments();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  setupKeyDialog();
  setupAsk();
  restoreConversation();
  setupReader();
  setupSummaries();
  $("#upload-form").addEventListener("submit", uploadReports);
  $("#upload-files").addEventListener("change", showChosenFiles);
  refreshAll();
});
