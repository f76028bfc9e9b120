/* The reader: a report by section, a citation shown in its section (and, for a paged report,
   on the page image with the cited text boxed); and the citation links (numbered list, [n]
   marks) that open it. */

import { getJSON, request } from "./api.js";
import { $, el, toast } from "./dom.js";

const docs = new Map();   // doc_id -> {meta, sections (flat), length}
let returnFocus = null;   // what had the focus before the reader opened
let pageUrl = null;       // the blob: URL of the page image shown
const PAGE_SCALE = 1.5;   // pixels a PDF point: sharp at the width the page is shown

export function docLabel(doc) {
  return doc.title || doc.doc_id;
}

/* The reports may have changed (upload, removal, another key): read them again when opened. */
export function forgetDocs() {
  docs.clear();
}

/* A superscript [n] that opens citation n (1-based), by mouse or keyboard. */
export function refMark(n, citations) {
  const citation = citations[n - 1];
  if (!citation) return "";
  return el("sup", {
    class: "ref", role: "button", tabindex: "0", title: "查看原文", onclick: () => openCitation(citation),
    onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); openCitation(citation); } },
  }, `[${n}]`);
}

export function citationList(citations) {
  return el("ol", { class: "citations" }, citations.map((c, i) => el("li", {},
    el("button", { class: "cite", type: "button", "data-cite": i + 1, onclick: () => openCitation(c) },
      el("span", { class: "cite-no" }, i + 1),
      el("span", { class: "cite-body" },
        el("span", { class: "cite-src" }, [c.title || c.doc_id, ...c.section_path].join(" › ")),
        el("span", { class: "cite-quote" }, c.quote))))));
}

function flattenSections(sections, path = [], out = []) {
  for (const s of sections) {
    const entry = { heading: s.heading, start: s.char_start, end: s.char_end, path: [...path, s.heading], children: [] };
    out.push(entry);
    flattenSections(s.children || [], entry.path, entry.children);
  }
  return out;
}

async function loadDoc(docId) {
  if (!docs.has(docId)) {
    const [meta, probe] = await Promise.all([
      getJSON(`/documents/${encodeURIComponent(docId)}`),
      getJSON(`/documents/${encodeURIComponent(docId)}/text?start=0&end=0`),
    ]);
    docs.set(docId, { meta, sections: flattenSections(meta.sections || []), length: probe.length });
  }
  return docs.get(docId);
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
    hidePage();
    box.replaceChildren(text);
    box.parentElement.scrollTop = 0;
  }
}

function hidePage() {
  $("#reader-page").hidden = true;
  $("#reader").querySelector(".reader-box").classList.remove("paged");
  $("#reader-page-frame").replaceChildren();
  if (pageUrl) URL.revokeObjectURL(pageUrl);
  pageUrl = null;
}

/* Page `number` of a paged report with the citation's boxes on it (boxes are in page points,
   placed as shares of the page so they stay on the text at any width). */
async function showPage(doc, citation, number) {
  const page = doc.meta.pages[number - 1];
  const response = await request(`/documents/${encodeURIComponent(doc.meta.doc_id)}/pages/${number}.png?scale=${PAGE_SCALE}`);
  const url = URL.createObjectURL(await response.blob());
  const share = (value, whole) => `${(100 * value / whole).toFixed(3)}%`;
  const boxes = citation.boxes.filter((b) => b.page === number).map((b) => {
    const mark = el("div", { class: "page-box" });
    Object.assign(mark.style, { left: share(b.x0, page.width), top: share(b.top, page.height),
      width: share(b.x1 - b.x0, page.width), height: share(b.bottom - b.top, page.height) });
    return mark;
  });
  const image = el("img", { src: url, alt: `第 ${number} 页`, width: Math.round(page.width * PAGE_SCALE),
    height: Math.round(page.height * PAGE_SCALE) });
  if (pageUrl) URL.revokeObjectURL(pageUrl);
  pageUrl = url;
  $("#reader-page-frame").replaceChildren(image, ...boxes);
  const cited = citation.pages || [];
  $("#reader-page-caption").replaceChildren(`原件第 ${number} 页(共 ${doc.meta.pages.length} 页)`,
    ...(cited.length > 1 ? cited.map((n) => el("button", { type: "button", class: n === number ? "current" : "secondary",
      onclick: () => showPage(doc, citation, n).catch((err) => toast(err.message)) }, `第 ${n} 页`)) : []));
  $("#reader").querySelector(".reader-box").classList.add("paged");
  $("#reader-page").hidden = false;
  await image.decode();
}

function showReader(doc) {
  const m = doc.meta;
  $("#reader-title").textContent = docLabel(m);
  $("#reader-meta").textContent = [m.issuer, m.year && `${m.year} 年度`, m.doc_number, m.publish_date && `发布于 ${m.publish_date}`]
    .filter(Boolean).join(" · ");
  if ($("#reader").hidden) returnFocus = document.activeElement;
  $("#reader").hidden = false;
  document.body.style.overflow = "hidden";
  $("#reader-close").focus();
  $("#reader-toc-wrap").open = window.matchMedia("(min-width: 641px)").matches;
}

function closeReader() {
  hidePage();
  $("#reader").hidden = true;
  document.body.style.overflow = "";
  returnFocus?.focus();
}

export async function openReport(docId) {
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
    if (doc.meta.pages && citation.pages?.length) await showPage(doc, citation, citation.pages[0]);
    else hidePage();
  } catch (err) {
    toast(err.message);
  }
}

export function setupReader() {
  $("#reader-close").addEventListener("click", closeReader);
  $("#reader").addEventListener("click", (event) => { if (event.target.id === "reader") closeReader(); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !$("#reader").hidden) closeReader(); });
}
