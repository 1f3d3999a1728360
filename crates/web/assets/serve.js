// The model server's page: it asks GET /model what the model takes and shows the fitting form.
"use strict";
const $ = (id) => document.getElementById(id);
let model = null;

async function call(url, options) {
  const r = await fetch(url, options);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

function showError(e) {
  $("error").textContent = e ? e.message || String(e) : "";
}

function bars(rows) {
  // rows: [{name, value, text}] with value in [0, 1]
  const out = rows.map((r) => {
    const div = document.createElement("div");
    div.className = "bar";
    const name = document.createElement("span");
    name.className = "cls";
    name.textContent = r.name;
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = `${Math.max(0, Math.min(1, r.value)) * 100}%`;
    track.appendChild(fill);
    const p = document.createElement("span");
    p.className = "p";
    p.textContent = r.text;
    div.append(name, track, p);
    return div;
  });
  $("result").replaceChildren(...out);
}

async function predictImage(file) {
  showError(null);
  $("preview").src = URL.createObjectURL(file);
  $("preview").hidden = false;
  $("overlay").hidden = true;
  try {
    const body = await call("/predict", { method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file });
    if (body.predictions) bars(body.predictions.map((p) => ({ name: p.class, value: p.prob, text: p.prob.toFixed(3) })));
    else bars(body.proportions.map((p) => ({ name: p.class, value: p.share, text: (100 * p.share).toFixed(1) + "%" })));
    if (body.overlay) {
      // Segmentation: the classes painted over the image, beside it.
      $("overlay").src = body.overlay;
      $("overlay").hidden = false;
    }
  } catch (e) {
    $("result").replaceChildren();
    showError(e);
  }
}

function probBars(probs) {
  return Object.entries(probs).sort((a, b) => b[1] - a[1]).map(([name, p]) => ({ name, value: p, text: p.toFixed(3) }));
}

function buildRowForm(columns) {
  const form = $("row-form");
  for (const c of columns) {
    const label = document.createElement("label");
    label.textContent = c.name;
    label.htmlFor = "col-" + c.name;
    let input;
    if (c.kind === "category") {
      input = document.createElement("select");
      const none = document.createElement("option");
      none.value = "";
      none.textContent = "(missing)";
      input.appendChild(none);
      for (const v of c.values) {
        const o = document.createElement("option");
        o.value = v;
        o.textContent = v;
        input.appendChild(o);
      }
      if (c.values.length) input.value = c.values[0];
    } else {
      input = document.createElement("input");
      input.type = "number";
      input.step = "any";
    }
    input.id = "col-" + c.name;
    input.dataset.column = c.name;
    input.dataset.kind = c.kind;
    form.append(label, input);
  }
}

async function predictRow(e) {
  e.preventDefault();
  showError(null);
  const row = {};
  for (const el of $("row-form").querySelectorAll("[data-column]")) {
    const v = el.value.trim();
    row[el.dataset.column] = v === "" ? null : el.dataset.kind === "number" ? Number(v) : v;
  }
  try {
    const body = await call("/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ row }) });
    const p = body.predictions[0];
    if (p.probs) bars(probBars(p.probs));
    else bars([{ name: model.target, value: 1, text: Number(p.prediction).toFixed(3) }]);
  } catch (err) {
    showError(err);
  }
}

async function predictText() {
  showError(null);
  try {
    const body = await call("/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: $("text").value }) });
    bars(probBars(body.predictions[0].probs));
  } catch (e) {
    showError(e);
  }
}

async function recommend() {
  showError(null);
  try {
    const body = await call("/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: $("user").value, n: Number($("n").value) }) });
    const top = Math.max(...body.recommendations.map((r) => r.score), 1e-9);
    bars(body.recommendations.map((r) => ({ name: r.item, value: r.score / top, text: r.score.toFixed(2) })));
  } catch (e) {
    showError(e);
  }
}

async function init() {
  model = await call("/model");
  $("title").textContent = `${model.task} model`;
  const metrics = model.metrics && typeof model.metrics === "object" ? Object.entries(model.metrics).filter(([k, v]) => typeof v === "number" && !["epoch", "fit", "seconds"].includes(k)).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ") : "";
  $("meta").textContent = [model.file, model.classes && model.classes.length ? `${model.classes.length} classes` : "", metrics].filter(Boolean).join(" · ");
  if (model.input === "image") {
    $("image-task").hidden = false;
    $("file").addEventListener("change", () => { if ($("file").files[0]) predictImage($("file").files[0]); });
    const drop = $("drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) predictImage(e.dataTransfer.files[0]); });
  } else if (model.task === "tabular") {
    $("tabular-task").hidden = false;
    buildRowForm(model.columns);
    $("predict-row").addEventListener("click", predictRow);
  } else if (model.task === "text") {
    $("text-task").hidden = false;
    $("predict-text").addEventListener("click", predictText);
  } else if (model.task === "collab") {
    $("collab-task").hidden = false;
    $("recommend").addEventListener("click", recommend);
  }
  document.body.dataset.ready = "1";
}

init().catch(showError);
