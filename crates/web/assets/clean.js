// The cleaner page: pages of images sorted by loss, a choice per image, Apply.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { classes: [], page: 0, total: 0, decisions: new Map() };

async function getJson(url, options) {
  const r = await fetch(url, options);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

function option(value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  return o;
}

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = "status" + (isError ? " error" : "");
}

function updatePending() {
  const n = [...state.decisions.values()].filter((d) => d.action !== "keep").length;
  $("pending").textContent = n ? `${n} change(s) to apply` : "";
}

function card(item) {
  const div = document.createElement("div");
  div.className = "card";
  div.dataset.file = item.file;
  const img = document.createElement("img");
  img.src = "/image?file=" + encodeURIComponent(item.file);
  img.alt = item.file;
  const file = document.createElement("div");
  file.className = "file";
  file.textContent = item.file;
  const facts = document.createElement("div");
  facts.className = "facts";
  facts.textContent = `${item.label} → ${item.predicted} (p ${item.prob.toFixed(2)}), loss ${item.loss.toFixed(2)}`;
  const choice = document.createElement("select");
  choice.className = "choice";
  choice.appendChild(option("keep", "keep"));
  choice.appendChild(option("delete", "delete"));
  for (const c of state.classes) if (c !== item.label) choice.appendChild(option("move:" + c, "move to " + c));
  const previous = state.decisions.get(item.file);
  if (previous) choice.value = previous.action === "relabel" ? "move:" + previous.new_label : previous.action;
  const mark = () => {
    const v = choice.value;
    const d = v.startsWith("move:") ? { file: item.file, action: "relabel", new_label: v.slice(5) } : { file: item.file, action: v };
    state.decisions.set(item.file, d);
    div.className = "card" + (d.action === "keep" ? "" : " " + d.action);
    updatePending();
  };
  choice.addEventListener("change", mark);
  if (previous) mark();
  div.append(img, file, facts, choice);
  return div;
}

async function loadPage() {
  const perPage = Number($("per-page").value);
  const q = new URLSearchParams({ class: $("class").value, split: $("split").value, page: state.page, per_page: perPage });
  try {
    const body = await getJson("/api/items?" + q);
    state.total = body.total;
    const grid = $("grid");
    grid.replaceChildren(...body.items.map(card));
    const pages = Math.max(1, Math.ceil(body.total / perPage));
    $("page-info").textContent = `page ${state.page + 1} of ${pages} (${body.total} images)`;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page + 1 >= pages;
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function apply() {
  const decisions = [...state.decisions.values()];
  if (!decisions.some((d) => d.action !== "keep")) {
    setStatus("Nothing to apply: mark an image delete or move first.", true);
    return;
  }
  $("apply").disabled = true;
  try {
    const body = await getJson("/api/apply", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ decisions }) });
    state.decisions.clear();
    updatePending();
    const done = body.csv ? `${body.changed} row(s) changed in a new CSV: ${body.csv}` : `${body.moved} file(s) moved`;
    setStatus(`Applied: ${done}. Log: ${body.log}`, false);
    state.page = 0;
    await loadPage();
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    $("apply").disabled = false;
  }
}

async function init() {
  const info = await getJson("/api/classes");
  state.classes = info.classes;
  $("meta").textContent = `${info.labels_csv || info.images} · ranked by ${info.model || "?"}`;
  if (info.labels_csv) {
    $("hint").textContent = "Highest loss first. Mark each image keep, delete (its row left out), or move to another class (its row relabelled); Apply writes a new CSV beside the old one. No image is moved.";
  }
  for (const c of info.classes) $("class").appendChild(option(c, c));
  for (const s of info.splits) $("split").appendChild(option(s, s));
  for (const id of ["class", "split", "per-page"]) $(id).addEventListener("change", () => { state.page = 0; loadPage(); });
  $("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); loadPage(); });
  $("next").addEventListener("click", () => { state.page += 1; loadPage(); });
  $("apply").addEventListener("click", apply);
  await loadPage();
  document.body.dataset.ready = "1";
}

init().catch((e) => setStatus(e.message, true));
