/* 政府工作报告问答: the page's entry module. Plain DOM and native ES modules, no framework, no
   build step: tabs, the health line, the API key, and reloading the lists when reports change. */

import { access, getJSON, hasKey, KEY_STORAGE, loadRole } from "./api.js";
import { renderFilters, setupAsk } from "./ask.js";
import { renderSummaryChecklist, setupSummaries } from "./briefings.js";
import { $, toast } from "./dom.js";
import { forgetDocs, setupReader } from "./reader.js";
import { emptyNote, loadDocuments, reports, setupReports } from "./reports.js";

function showTab(name) {
  document.querySelectorAll(".tabs button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  document.querySelectorAll("section.tab").forEach((s) => { s.hidden = s.dataset.tab !== name; });
  if (name === "ask") $("#question").focus();
}

async function loadHealth() {
  try {
    const h = await getJSON("/health");
    access.auth = Boolean(h.auth);
    $("#mode-label").hidden = !h.llm_configured;
    $("#health").textContent = h.status === "ok"
      ? `已收录 ${h.documents} 份报告 · ${h.chunks} 个片段`
      : "尚无索引:请先上传或导入报告";
    const keyNeeded = access.auth && !hasKey();
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

/* Health, role and reports again: after start, a new key, an upload or a removal. */
async function refreshAll() {
  await loadHealth();
  await loadRole();
  await loadDocuments();
  forgetDocs();
  renderFilters(reports.documents);
  renderSummaryChecklist(reports.documents, emptyNote());
}

document.querySelectorAll(".tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
setupKeyDialog();
setupAsk();
setupReader();
setupSummaries();
setupReports(refreshAll);
refreshAll();
