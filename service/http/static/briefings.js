/* The briefings tab: cited summaries of chosen reports (POST /summaries), shown, or downloaded
   as Word or Markdown. */

import { postJSON, request } from "./api.js";
import { $, el, toast } from "./dom.js";
import { citationList, docLabel, refMark } from "./reader.js";

const STYLE_NAMES = { briefing: "综述简报", key_figures: "关键数据", sections: "分章节摘要" };

/* The reports to choose from; `emptyNote` stands in an empty list. */
export function renderSummaryChecklist(documents, emptyNote) {
  const items = documents.map((doc) => el("label", {},
    el("input", { type: "checkbox", name: "doc", value: doc.doc_id }), " ",
    `${docLabel(doc)}${doc.year ? `(${doc.year})` : ""}`));
  $("#summary-docs").replaceChildren(...(items.length ? items : [el("span", { class: "muted" }, emptyNote)]));
}

function summaryRequest(format) {
  const docIds = [...document.querySelectorAll("#summary-docs input:checked")].map((i) => i.value);
  const style = document.querySelector("#summary-form input[name=style]:checked").value;
  return { doc_ids: docIds, style, format };
}

function citedLines(items, citations) {
  return items.map((item) => el("p", { class: "point" }, item.text, " ", refMark(item.citation, citations)));
}

function figureTable(rows, citations) {
  return el("div", { class: "table-wrap" }, el("table", { class: "reports figures" },
    el("thead", {}, el("tr", {}, el("th", {}, "指标"), el("th", {}, "数值"), el("th", {}, "章节"), el("th", {}, "出处"))),
    el("tbody", {}, rows.map((r) => el("tr", {},
      el("td", {}, r.metric), el("td", { class: "num strong" }, r.raw), el("td", {}, r.section),
      el("td", {}, refMark(r.citation, citations)))))));
}

function comparisonTable(comparison, citations) {
  return el("div", { class: "table-wrap" }, el("table", { class: "reports figures" },
    el("thead", {}, el("tr", {}, el("th", {}, "指标"), comparison.columns.map((c) => el("th", {}, c)))),
    el("tbody", {}, comparison.rows.map((row) => el("tr", {}, el("td", {}, row.metric),
      row.cells.map((cell) => el("td", { class: "num" },
        cell ? [cell.raw, " ", refMark(cell.citation, citations)] : "—")))))));
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

export function setupSummaries() {
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
