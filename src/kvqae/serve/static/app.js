// kvqae serve: single-page UI. Plain DOM, no framework, no build step.
// Every string that comes from the server is untrusted: it is only ever put
// in the page with textContent / setAttribute, never with innerHTML.
(function () {
  "use strict";

  const MAX_ITEMS = 5;                             // items shown per ranking
  const limits = { maxMb: 10, maxChars: 1000 };    // /health may override these
  const NETWORK_ERROR = "Could not reach the server (network error). Check that it is running, then try again.";

  const byId = (id) => document.getElementById(id);
  const els = {
    form: byId("ask-form"), input: byId("image-input"), question: byId("question"),
    button: byId("ask-button"), drop: byId("drop-zone"), preview: byId("preview"),
    previewWrap: byId("preview-wrap"), previewName: byId("preview-name"), remove: byId("remove-image"),
    status: byId("status"), error: byId("error"), examples: byId("examples"), health: byId("health"),
    limitMb: byId("limit-mb"), result: byId("result"), answer: byId("answer"),
    probability: byId("probability"), notes: byId("notes"), expected: byId("expected"), entity: byId("entity"),
    passage: byId("passage"), modes: byId("modes"), skipped: byId("skipped"),
    fusionInfo: byId("fusion-info"), timings: byId("timings"), textOnly: byId("text-only"),
    tagline: document.querySelector(".tagline"),
  };
  // textOnly: the bundle retrieves by text alone (/health lists no image modes), so no photo is taken;
  // refused: why the last file chosen was refused, while no photo is chosen (Ask refuses until it is cleared)
  const state = { file: null, refused: null, previewUrl: null, busy: false, reader: null, textOnly: false };

  // ---------------------------------------------------------------- helpers
  // el("span", {class: "x", text: "hi", title: "t"}, [children]) -> element.
  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  const fmt = (x, digits) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "—");
  // Only same-origin absolute paths (e.g. "/api/entities/<id>/image") are used as URLs.
  const safeUrl = (url) => (typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : null);

  function setStatus(text) { els.status.textContent = text; }
  function showError(message) { els.error.textContent = message; els.error.hidden = false; }
  function clearError() { els.error.textContent = ""; els.error.hidden = true; }

  function setBusy(busy, text) {
    state.busy = busy;
    els.button.disabled = busy;
    els.form.setAttribute("aria-busy", String(busy));
    if (text !== undefined) setStatus(text);
  }

  // ------------------------------------------------------------------- HTTP
  // The server's own message (body.error.message), else the HTTP status text.
  function serverMessage(response, body) {
    const message = body && body.error && body.error.message;
    if (typeof message === "string" && message) return message;
    return `${response.status} ${response.statusText || "error"}`.trim();
  }

  // fetch() that throws an Error with a readable message on network failure or 4xx/5xx.
  async function request(url, options) {
    let response;
    try { response = await fetch(url, options); } catch (_) { throw new Error(NETWORK_ERROR); }
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON: fall back to status text */ }
      throw new Error(serverMessage(response, body));
    }
    return response;
  }

  async function fetchJson(url, options) {
    const response = await request(url, options);
    try { return await response.json(); } catch (_) { throw new Error(`The server's reply to ${url} was not valid JSON.`); }
  }

  // ------------------------------------------------------------ photo input
  // Why `file` cannot be the photo, or null.
  function checkFile(file) {
    const name = file.name ? `"${file.name}"` : "The pasted file";
    if (!file.type || !file.type.startsWith("image/")) return `${name} is not an image (JPEG, PNG, ...)`;
    if (file.size > limits.maxMb * 1024 * 1024) {
      return `${name} is ${(file.size / 1048576).toFixed(1)} MB, over the ${limits.maxMb} MB limit`;
    }
    return null;
  }

  // Mirror the chosen file into <input type=file> (DataTransfer is the only way to set .files).
  function syncInput(file) {
    try {
      const transfer = new DataTransfer();
      if (file) transfer.items.add(file);
      els.input.files = transfer.files;
    } catch (_) { if (!file) els.input.value = ""; }
  }

  // Show `file` (or nothing) as the chosen photo, keeping the file input in step. `refused` ({name, problem}):
  // no photo, but the refused file is listed, without a preview, until it is removed or replaced.
  function showPhoto(file, refused = null) {
    state.file = file;
    state.refused = refused;
    syncInput(file);
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.previewUrl = file ? URL.createObjectURL(file) : null;
    if (file) els.preview.src = state.previewUrl; else els.preview.removeAttribute("src");
    els.preview.hidden = !file;
    els.previewName.textContent = file ? file.name || "Pasted image" : refused ? `${refused.name} (refused)` : "";
    els.remove.textContent = refused ? "Remove file" : "Remove photo";
    els.previewWrap.hidden = !file && !refused;
  }

  // Use `file` as the photo. A refused one keeps the previous photo; with none, it stays listed as refused.
  function setFile(file) {
    if (state.textOnly) {
      syncInput(null);
      showError("This knowledge base is searched by text only, so a photo would not be used; describe the subject in the question instead.");
      return false;
    }
    const problem = checkFile(file);
    if (problem && state.file) {
      syncInput(state.file);
      showError(`Refused: ${problem}. The previous photo is kept.`);
      return false;
    }
    if (problem) {
      showPhoto(null, { name: file.name || "Pasted file", problem });
      showError(`Refused: ${problem}. Choose another photo, or remove the file to ask from the question alone.`);
      return false;
    }
    clearError();
    showPhoto(file);
    return true;
  }

  function onDrop(e) {
    e.preventDefault();
    els.drop.classList.remove("dragging");
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) setFile(file);
    else showError("Nothing usable was dropped; drop an image file.");
  }

  // Paste anywhere: take the first image on the clipboard; text pastes are left alone.
  function onPaste(e) {
    const items = Array.from((e.clipboardData && e.clipboardData.items) || []);
    const item = items.find((it) => it.kind === "file" && it.type.startsWith("image/"));
    const file = item && item.getAsFile();
    if (!file) return;
    e.preventDefault();
    if (setFile(file)) setStatus("Photo pasted.");
  }

  function wirePhotoInputs() {
    const openPicker = () => els.input.click();
    const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
    els.input.addEventListener("change", () => { if (els.input.files && els.input.files[0]) setFile(els.input.files[0]); });
    els.drop.addEventListener("click", openPicker);
    els.drop.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openPicker(); }
    });
    els.drop.addEventListener("dragover", (e) => { e.preventDefault(); els.drop.classList.add("dragging"); });
    els.drop.addEventListener("dragleave", () => els.drop.classList.remove("dragging"));
    els.drop.addEventListener("drop", onDrop);
    // A file dropped beside the zone must not make the browser navigate away from the page.
    window.addEventListener("dragover", (e) => { if (hasFiles(e)) e.preventDefault(); });
    window.addEventListener("drop", (e) => { if (hasFiles(e)) e.preventDefault(); });
    document.addEventListener("paste", onPaste);
    els.remove.addEventListener("click", () => {
      if (state.refused) clearError();   // the refusal is settled: the question alone will be asked
      showPhoto(null);
      els.drop.focus();
    });
  }

  // -------------------------------------------------------------------- ask
  function checkQuestion(question) {
    if (!question) return "Type a question first.";
    const length = Array.from(question).length;   // code points, as the server counts
    if (length > limits.maxChars) return `The question is ${length} characters long; the limit is ${limits.maxChars}.`;
    return null;
  }

  // POST the form to /api/ask; `expected` (an example's answers) is shown beside the answer.
  // Resolves to true when an answer was rendered.
  async function ask(expected) {
    if (state.busy) return false;
    clearError();
    // never leave an old answer under a new question: not while it is asked, not when it is refused
    els.result.hidden = true;
    setStatus("");
    const question = els.question.value.trim();
    const problem = checkQuestion(question);
    if (problem) {
      els.question.setAttribute("aria-invalid", "true");
      showError(problem);
      els.question.focus();
      return false;
    }
    els.question.removeAttribute("aria-invalid");
    if (state.refused) {
      showError(`The chosen file was refused (${state.refused.problem}): choose another photo, or remove the file to ask from the question alone.`);
      els.remove.focus();
      return false;
    }
    const data = new FormData();
    data.append("question", question);
    if (state.file) data.append("image", state.file, state.file.name || "image");
    setBusy(true, "Asking…");
    try {
      const result = await fetchJson("/api/ask", { method: "POST", body: data });
      renderResult(result, expected);
      const total = result.timings_ms && result.timings_ms.total;
      setStatus(typeof total === "number" ? `Answered in ${fmt(total, 1)} ms.` : "Answered.");
      return true;
    } catch (err) {
      showError(err.message || String(err));
      setStatus("");
      return false;
    } finally {
      setBusy(false);
    }
  }

  // --------------------------------------------------------------- results
  function renderResult(r, expected) {
    renderAnswer(r);
    els.expected.hidden = !(Array.isArray(expected) && expected.length);
    els.expected.textContent = els.expected.hidden ? "" : `Expected: ${expected.join(" / ")}`;
    renderEntity(r.entity);
    renderPassage(r.passage, r.answer);
    renderRankings(r);
    renderFusion(r.fusion);
    renderTimings(r.timings_ms);
    els.result.hidden = false;
  }

  function renderAnswer(r) {
    const has = typeof r.answer === "string" && r.answer.trim() !== "";
    els.answer.textContent = has ? r.answer : "No answer";
    els.answer.classList.toggle("no-answer", !has);
    // what the answer rule that chose the answer reads (a date from the lead, a relative's statement)
    const says = has && r.by_rule && typeof r.rule_says === "string" && r.rule_says ? r.rule_says : "";
    // how often the rule's answers were right on questions written blind: what to weigh instead of a probability
    const rec = has && r.by_rule && r.rule_record ? r.rule_record : null;
    const track = rec ? `; this rule's answers were right ${rec.right} of ${rec.answered} times on ${rec.source}` : "";
    if (has && r.by_rule) {
      // a rule's answer has no probability of its own: what the rule reads says why it was chosen, its record
      // how far to trust it; the evidence ranking's confidence, when it had the span, says little about it
      const conf = typeof r.confidence === "number" ? `; the evidence ranking gives it ${Math.round(100 * r.confidence)}%` : " (no confidence)";
      els.probability.textContent = `Chosen by an answer rule${says ? `: ${says}` : ""}${track}${conf}`;
    } else if (has && typeof r.confidence === "number") {
      els.probability.textContent = `Confidence ${Math.round(100 * r.confidence)}% (the evidence ranking's probability of this answer)`;
    } else if (has && r.probability > 0) els.probability.textContent = `Probability ${fmt(r.probability, 3)}`;
    else if (has) els.probability.textContent = "No probability (an entity the reader did not propose)";
    else if (state.reader === false) els.probability.textContent = "No reader is loaded: only the retrieval results are shown.";
    else els.probability.textContent = "The reader found no answer in the retrieved passages.";
    // what to know before trusting the answer ("this man" asked without a photo that was searched)
    els.notes.replaceChildren(...(r.notes || []).map((note) => el("p", { class: "note caveat", text: `Note: ${note}` })));
  }

  // A title cut to MAX_TITLE characters (a KB's 5,000-character title pushed the answer off the screen);
  // the whole one stays in the element's tooltip.
  const MAX_TITLE = 160;
  function shortTitle(text) {
    const chars = Array.from(String(text ?? ""));
    return chars.length > MAX_TITLE ? `${chars.slice(0, MAX_TITLE - 1).join("")}…` : chars.join("");
  }

  // A KB thumbnail, or a neutral placeholder box when there is none (or it fails to load).
  function thumb(url, title) {
    const box = el("span", { class: "thumb-placeholder", "aria-hidden": "true" });
    if (!safeUrl(url)) return box;
    const img = el("img", { class: "thumb", src: url, alt: title || "", loading: "lazy", width: "48", height: "48" });
    img.addEventListener("error", () => img.replaceWith(box), { once: true });
    return img;
  }

  function renderEntity(entity) {
    els.entity.replaceChildren();
    if (!entity) return;
    const title = entity.title || entity.id || "";
    const name = el("div", {}, [el("span", { class: "label", text: "Entity" }), el("strong", { text: shortTitle(title), title })]);
    els.entity.append(thumb(entity.image_url, entity.title), name);
  }

  // Split text into [before, answer, after]. The server's offsets are Python
  // indices (code points), so slice code points; fall back to UTF-16 indices
  // only when those are what reproduce the answer.
  function splitPassage(text, start, end, answer) {
    const cps = Array.from(text);
    const parts = [cps.slice(0, start).join(""), cps.slice(start, end).join(""), cps.slice(end).join("")];
    if (parts[1] === answer) return parts;
    const units = [text.slice(0, start), text.slice(start, end), text.slice(end)];
    return units[1] === answer ? units : parts;
  }

  function renderPassage(passage, answer) {
    els.passage.replaceChildren();
    const ok = passage && typeof passage.text === "string";
    els.passage.classList.toggle("muted", !ok);
    if (!ok) { els.passage.textContent = "No passage."; return; }
    const toInt = (x) => (Number.isInteger(x) && x > 0 ? x : 0);
    const start = toInt(passage.start), end = Math.max(start, toInt(passage.end));
    const [before, span, after] = splitPassage(passage.text, start, end, answer || "");
    els.passage.append(before);
    if (span) els.passage.append(el("mark", { text: span }));
    els.passage.append(after);
  }

  // A passage hit names its passage, not only its entity: "Albert Einstein" + "#4" for "Albert_Einstein#4".
  function passageLabel(item) {
    if (!item.id || !item.entity_id || item.id === item.entity_id) return null;
    const id = String(item.id);
    const prefix = `${item.entity_id}#`;
    return id.startsWith(prefix) ? `#${id.slice(prefix.length)}` : id;
  }

  function rankingItem(item) {
    const passage = passageLabel(item);
    return el("li", { class: "item" }, [
      el("span", { class: "rank", text: String(item.rank ?? "") }),
      thumb(item.image_url, item.title),
      el("span", { class: "title", title: `${item.title || ""} (${String(item.id ?? "")})` }, [
        shortTitle(item.title || item.id || ""),
        passage ? el("span", { class: "pid", text: ` ${passage}` }) : null,
      ]),
      el("span", { class: "score", text: fmt(item.score, 3) }),
      // the read passages carry their text: the evidence, one click away
      typeof item.text === "string"
        ? el("details", { class: "ptext" }, [el("summary", { text: "passage text" }), el("p", { text: item.text })])
        : null,
    ]);
  }

  function rankingSection(name, level, items, limit = MAX_ITEMS) {
    const heading = el("h3", {}, [el("span", { text: name }), " ", level ? el("span", { class: "level", text: level }) : null]);
    const list = el("ol", { class: "ranking" });
    for (const item of (items || []).slice(0, limit)) list.append(rankingItem(item));
    if (!list.children.length) list.append(el("li", { class: "muted", text: "No results." }));
    return el("section", { class: "ranking-col" }, [heading, list]);
  }

  // One column per mode that ran (in the server's order), then the fused ranking.
  function renderRankings(r) {
    els.modes.replaceChildren();
    for (const [mode, items] of Object.entries(r.modes || {})) {
      const section = rankingSection(mode, (r.levels || {})[mode], items);
      section.classList.add("mode");
      section.dataset.mode = mode;
      els.modes.append(section);
    }
    const fused = rankingSection("fused", "passage", r.fused);
    fused.classList.add("fused");
    els.modes.append(fused);
    if ((r.read || []).length) {
      const read = rankingSection("read", "reader's order", r.read, r.read.length);
      read.classList.add("read");
      els.modes.append(read);
    }
    els.skipped.replaceChildren(...Object.entries(r.skipped || {}).map(([mode, reason]) =>
      el("p", { class: "note" }, [el("strong", { text: mode }), ` skipped: ${reason}`])));
  }

  function renderFusion(fusion) {
    els.fusionInfo.replaceChildren();
    if (!fusion) return;
    const runs = Object.keys(fusion.weights || {});
    if (fusion.method === "none") {
      // one run, nothing fused (it said "Fusion: none, normalisation none")
      els.fusionInfo.append(el("p", { text: `Ranking: one run (${runs.join(", ") || "—"}), not fused` }));
    } else {
      const method = [fusion.method, fusion.norm && `normalisation ${fusion.norm}`].filter(Boolean).join(", ");
      const weights = Object.entries(fusion.weights || {}).map(([m, w]) => `${m} ${fmt(w, 3)}`).join(" · ");
      els.fusionInfo.append(el("p", { text: `Fusion: ${method || "—"}` }));
      if (weights) els.fusionInfo.append(el("p", { text: `Weights: ${weights}` }));
    }
    if (fusion.note) els.fusionInfo.append(el("p", { class: "note", text: fusion.note }));
    const rr = fusion.rerank;
    if (rr) {
      els.fusionInfo.append(el("p", {
        text: `Re-ranked by term ${rr.method}: top ${rr.top_n} passages, weight ${rr.weight}, ${rr.words}-word windows, lead ${rr.lead ?? 0}, article agreement ${rr.agreement ?? 0}`,
      }));
    }
    const byReader = fusion.reader_rank;
    if (byReader) {
      els.fusionInfo.append(el("p", {
        text: byReader.looked_up
          ? `"read": the ${byReader.top_k} retrieved passages and ${byReader.looked_up} looked up in the first one's article, ordered by the reader's evidence (weight ${byReader.weight})`
          : `"read": the ${byReader.top_k} passages the reader read, ordered by its evidence (weight ${byReader.weight})`,
      }));
    }
  }

  function renderTimings(timings) {
    els.timings.tBodies[0].replaceChildren(...Object.entries(timings || {}).map(([step, ms]) =>
      el("tr", step === "total" ? { class: "total" } : {}, [
        el("th", { scope: "row", text: step }), el("td", { class: "num", text: fmt(ms, 1) }),
      ])));
  }

  // -------------------------------------------------------------- examples
  async function fetchImageFile(url, id) {
    const blob = await (await request(url)).blob();
    const type = blob.type || "image/jpeg";
    const ext = (type.split("/")[1] || "jpg").split(/[+;]/)[0];
    return new File([blob], `example-${String(id).replace(/[^\w.-]/g, "_")}.${ext}`, { type });
  }

  // Put the example's photo (or none) and question in the form, then ask at once.
  async function runExample(example) {
    if (state.busy) return;
    clearError();
    els.result.hidden = true;
    els.question.value = example.question || "";
    const url = safeUrl(example.image_url);
    setBusy(true, url ? "Loading the example photo…" : "");
    let ok = true;
    try {
      if (url) ok = setFile(await fetchImageFile(url, example.id));
      else showPhoto(null);
    } catch (err) {
      showError(`Could not load the example photo: ${err.message}`);
      ok = false;
    }
    setBusy(false, "");
    if (ok && (await ask(example.answers))) els.result.scrollIntoView({ block: "start" });
  }

  function exampleButton(example) {
    const url = safeUrl(example.image_url);
    const button = el("button", { type: "button", class: "example" }, [
      url ? el("img", { src: url, alt: "", loading: "lazy" }) : el("span", { class: "thumb-placeholder", "aria-hidden": "true" }),
      el("span", { class: "example-q", text: example.question || "" }),
    ]);
    button.addEventListener("click", () => runExample(example));
    return button;
  }

  async function loadExamples() {
    try {
      const examples = await fetchJson("/api/examples");
      const list = Array.isArray(examples) ? examples : [];
      els.examples.replaceChildren(...(list.length ? list.map(exampleButton)
        : [el("p", { class: "muted", text: "This bundle has no examples." })]));
    } catch (err) {
      els.examples.replaceChildren(el("p", { class: "muted", text: `Examples unavailable: ${err.message}` }));
    }
  }

  // ---------------------------------------------------------------- health
  async function loadHealth() {
    try {
      const h = await fetchJson("/health");
      if (Number.isFinite(h.max_upload_mb) && h.max_upload_mb > 0) limits.maxMb = h.max_upload_mb;
      if (Number.isInteger(h.max_question_chars) && h.max_question_chars > 0) {
        // no maxlength on the box: it cut a longer pasted question without a word (session 31);
        // checkQuestion says how long it is and what the limit is
        limits.maxChars = h.max_question_chars;
      }
      els.limitMb.textContent = String(limits.maxMb);
      state.reader = Boolean(h.reader);
      if (Array.isArray(h.image_modes) && h.image_modes.length === 0) showTextOnly();
      const modes = Array.isArray(h.modes) ? h.modes.join(", ") : "—";
      els.health.textContent = `Bundle ${h.bundle} · modes: ${modes} · reader: ${h.reader ? "loaded" : "not loaded (retrieval only)"}`;
    } catch (err) {
      els.health.textContent = `Server status unavailable: ${err.message}`;
      els.health.classList.add("warn");
    }
  }

  // A text-only bundle: no photo field, a note saying why, a question that names its subject.
  function showTextOnly() {
    state.textOnly = true;
    document.body.classList.add("text-only");
    showPhoto(null);
    els.drop.hidden = true;
    els.input.disabled = true;
    els.textOnly.hidden = false;
    document.querySelector('label[for="image-input"]').hidden = true;
    els.tagline.textContent = "Ask a question about a named entity; answers come from the knowledge base (searched by text).";
    els.question.placeholder = "e.g. In which city was the composer of The Magic Flute born?";
  }

  // ------------------------------------------------------------------ init
  wirePhotoInputs();
  els.form.addEventListener("submit", (e) => { e.preventDefault(); ask(null); });
  els.question.addEventListener("input", () => els.question.removeAttribute("aria-invalid"));
  loadHealth();
  loadExamples();
})();
