/* The reports tab: the indexed reports, upload and removal (admins), and the list other tabs
   build on (filters, the briefing checklist). */

import { errorOf, getJSON, mayAdminister, request, send } from "./api.js";
import { $, el, toast } from "./dom.js";
import { docLabel, openReport } from "./reader.js";

/* GET /documents, and why it failed (shown where the list would be). */
export const reports = { documents: [], error: null };

export async function loadDocuments() {
  reports.error = null;
  try {
    reports.documents = (await getJSON("/documents")).documents;
  } catch (err) {
    reports.documents = [];
    if (err.status !== 409) reports.error = err.message;   // 409: no index yet
  }
  renderReportRows();
}

/* What stands in an empty list: the reason the list could not be read, or that there is nothing. */
export function emptyNote() {
  return reports.error ? `无法读取报告列表:${reports.error}` : "还没有收录任何报告。";
}

function renderReportRows() {
  $("#report-count").textContent = reports.error ? "" : `(${reports.documents.length} 份)`;
  const rows = reports.documents.map((doc) => el("tr", { "data-doc-id": doc.doc_id },
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

let reportsChanged = async () => {};

const STATUS_NAMES = { added: "已添加", replaced: "已替换(内容有更新)", skipped: "已跳过(内容未变)", failed: "失败" };

function renderUploadResults(body) {
  const items = (body.files || []).map((f) => el("li", { class: f.status },
    `${f.filename}:${STATUS_NAMES[f.status] || f.status}`,
    f.chunks ? `,${f.chunks} 个片段` : "",
    f.reason ? `。原因:${f.reason}` : "",
    f.note ? `。注意:${f.note}` : ""));
  $("#upload-results").replaceChildren(...items);
}

const JOB_POLL_MS = 1000;

/* An upload with scans is answered at once (202) and read by OCR in the background: show its pages
   read until the job ends, then hand back the answer the upload would have sent. */
async function followJob(jobId) {
  for (;;) {
    const job = await getJSON(`/jobs/${encodeURIComponent(jobId)}`);
    if (job.state !== "running") return job.result;
    const bar = el("progress", { max: job.pages_total || 1, value: job.pages_done });
    const words = job.pages_total ? `正在识别扫描件:第 ${job.pages_done} / ${job.pages_total} 页` : "正在读取文件…";
    $("#upload-results").replaceChildren(el("li", { class: "muted", id: "upload-progress" }, bar, " ", words));
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
  }
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
    let body = response.ok || response.status === 422 ? await response.json() : null;
    if (response.status === 202) body = await followJob(body.job_id);
    if (!body?.files) throw body?.detail ? new Error(body.detail) : await errorOf(response);
    renderUploadResults(body);
    $("#upload-files").value = "";
    showChosenFiles();
    await reportsChanged();
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
    await reportsChanged();
  } catch (err) {
    toast(err.message);
  }
}

/* `onChange` runs after an upload or a removal changed the reports (the page reloads its lists). */
export function setupReports(onChange) {
  reportsChanged = onChange;
  $("#upload-form").addEventListener("submit", uploadReports);
  $("#upload-files").addEventListener("change", showChosenFiles);
}
