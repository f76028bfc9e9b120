/* The ask tab: a conversation streamed from /v1/chat/completions, each answer shown from the
   structured fields of the stream's last chunk (figure, citations, note, rewritten question). */

import { ApiError, request } from "./api.js";
import { $, el } from "./dom.js";
import { citationList, refMark } from "./reader.js";

const CONVERSATION_STORAGE = "reportqa.conversation";
const HISTORY_MESSAGES = 12;   // earlier messages sent along: enough for follow-ups to resolve

const conversation = {
  messages: [],   // the conversation so far, as OpenAI chat messages
  turns: [],      // the same as shown: [{question, answer}]
};

function fillSelect(select, values) {
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, "全部"), ...values.map((v) => el("option", { value: v }, v)));
  if (values.map(String).includes(current)) select.value = current;
}

/* The issuer and year filters offer what the indexed reports hold. */
export function renderFilters(documents) {
  const issuers = [...new Set(documents.map((d) => d.issuer).filter(Boolean))].sort();
  const years = [...new Set(documents.map((d) => d.year).filter(Boolean))].sort((a, b) => b - a);
  fillSelect($("#filter-issuer"), issuers);
  fillSelect($("#filter-year"), years);
}

function currentFilters() {
  const filters = {};
  if ($("#filter-issuer").value) filters.issuer = $("#filter-issuer").value;
  if ($("#filter-year").value) filters.year = Number($("#filter-year").value);
  return Object.keys(filters).length ? filters : null;
}

function appendToConversation(node) {
  $("#ask-hint")?.remove();
  $("#conversation").append(node);
  node.scrollIntoView({ block: "end", behavior: "smooth" });
}

function renderAnswer(card, answer) {
  card.className = answer.found ? "answer" : "answer not-found";
  const citations = answer.citations || [];
  const parts = [];
  if (!answer.found) parts.push(el("span", { class: "badge" }, "未找到答案"));
  else if (answer.answer) parts.push(el("div", { class: "figure" }, answer.answer));
  parts.push(el("p", { class: "answer-text" }, answer.text, citations.map((_, i) => refMark(i + 1, citations))));
  if (answer.note) parts.push(el("p", { class: "note" }, answer.note));
  if (citations.length) parts.push(citationList(citations));
  if (answer.rewritten) parts.unshift(el("p", { class: "muted rewritten" }, `按“${answer.rewritten}”回答`));
  card.replaceChildren(...parts);
}

function renderError(card, err) {
  card.className = "answer error";
  card.replaceChildren(el("p", { class: "answer-text" }, err.message));
}

/* The conversation survives a reload of the page (this tab only), not a new conversation. */
function saveConversation() {
  sessionStorage.setItem(CONVERSATION_STORAGE, JSON.stringify(conversation));
}

function restoreConversation() {
  const saved = JSON.parse(sessionStorage.getItem(CONVERSATION_STORAGE) || "null");
  if (!saved?.turns?.length) return;
  conversation.messages = saved.messages;
  conversation.turns = saved.turns;
  for (const turn of saved.turns) {
    appendToConversation(el("div", { class: "msg-user" }, turn.question));
    const card = el("div", { class: "answer" });
    renderAnswer(card, turn.answer);
    appendToConversation(card);
  }
}

/* Server-sent events of /v1/chat/completions: calls onContent with the content so far,
   returns the whole content and the final chunk (finish_reason set; it carries the answer's fields). */
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

async function ask(question) {
  appendToConversation(el("div", { class: "msg-user" }, question));
  const waiting = el("p", { class: "muted" }, "正在查找…");
  const streaming = el("p", { class: "answer-text streaming" });
  const card = el("div", { class: "answer pending" }, waiting, streaming);
  appendToConversation(card);
  const messages = [...conversation.messages.slice(-HISTORY_MESSAGES), { role: "user", content: question }];
  const body = { model: $("#answer-mode").value || "reportqa", stream: true, messages };
  const filters = currentFilters();
  if (filters) body.filters = filters;
  try {
    const { content, final } = await streamCompletion(body, (soFar) => {
      waiting.remove();
      streaming.textContent = soFar;
    });
    const answer = {
      found: final.found,
      answer: final.figure?.raw ?? final.answer ?? null,
      text: final.text,
      note: final.note,
      citations: final.citations || [],
      rewritten: final.rewritten_question !== question ? final.rewritten_question : null,
    };
    conversation.messages = [...messages, { role: "assistant", content }];
    conversation.turns.push({ question, answer });
    saveConversation();
    renderAnswer(card, answer);
  } catch (err) {
    renderError(card, err);
  }
  card.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function resetConversation() {
  conversation.messages = [];
  conversation.turns = [];
  sessionStorage.removeItem(CONVERSATION_STORAGE);
  $("#conversation").replaceChildren(el("div", { class: "empty-hint", id: "ask-hint" },
    el("p", { class: "muted" }, "新对话已开始,请输入问题。")));
  $("#question").focus();
}

export function setupAsk() {
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
  restoreConversation();
}
