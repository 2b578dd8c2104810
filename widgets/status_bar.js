// Status bar of hpo_lab's dashboard: an anywidget ES module (no build step, no imports).
//
// It renders the `data` trait (see hpo_lab/dashboard/_status.py: StatusData) and advances the
// clock between updates. Buttons send {type: "control", action, n?}; clicking the best trial
// sends {type: "select", number}. Each view says when it appears and goes away
// ({type: "view", open}), so the kernel can stop drawing for a dashboard nobody sees.

const STATE_LABELS = {
  idle: "Idle",
  running: "Running",
  paused: "Paused",
  stopping: "Stopping",
  finished: "Finished",
  stopped: "Stopped",
};
const SEGMENTS = [
  ["COMPLETE", "complete"],
  ["PRUNED", "pruned"],
  ["FAIL", "failed"],
  ["PAUSED", "paused"],
  ["RUNNING", "running"],
];

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, "0")}:${secs}`;
  return `${minutes}:${secs}`;
}

function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
}

function button(label, action, title, className) {
  const b = h("button", `hpo-sb-btn ${className || ""}`, label);
  b.type = "button";
  b.dataset.action = action;
  b.title = title;
  return b;
}

function render({ model, el }) {
  const root = h("div", "hpo-sb");
  const state = h("span", "hpo-sb-state");
  const stateDot = h("span", "hpo-sb-dot");
  const stateText = h("span", "hpo-sb-state-text");
  state.append(stateDot, stateText);
  const title = h("div", "hpo-sb-title");
  const name = h("span", "hpo-sb-name");
  const objective = h("span", "hpo-sb-objective");
  title.append(name, objective);

  const progress = h("div", "hpo-sb-progress");
  const bar = h("div", "hpo-sb-bar");
  const counts = h("div", "hpo-sb-counts");
  progress.append(counts, bar);

  const best = h("button", "hpo-sb-best");
  best.type = "button";
  const clockBox = h("div", "hpo-sb-clock");
  const elapsed = h("span", "hpo-sb-elapsed");
  const eta = h("span", "hpo-sb-eta");
  clockBox.append(elapsed, eta);

  const controls = h("div", "hpo-sb-controls");
  const pause = button("Pause", "pause", "Start no new trials; running trials wait at their next report");
  const resume = button("Resume", "resume", "Resume the search", "hpo-sb-primary");
  const stop = button("Stop", "stop", "Start no new trials; running trials finish", "hpo-sb-danger");
  const addBox = h("div", "hpo-sb-add");
  const addInput = h("input", "hpo-sb-n");
  addInput.type = "number";
  addInput.min = "1";
  addInput.max = "100000";
  addInput.value = "10";
  addInput.title = "How many trials to add";
  const add = button("Add trials", "add_trials", "Run this many more trials");
  addBox.append(addInput, add);
  controls.append(pause, resume, stop, addBox);

  const message = h("div", "hpo-sb-message");
  const main = h("div", "hpo-sb-main");
  main.append(state, title, progress, best, clockBox, controls);
  root.append(main, message);
  el.appendChild(root);

  let received = performance.now();
  let timer = 0;
  let messageTimer = 0;

  function seconds(value) {
    const data = model.get("data") || {};
    if (value === null || value === undefined) return null;
    if (!data.ticking) return value;
    return value + (performance.now() - received) / 1000;
  }

  function tick() {
    const data = model.get("data") || {};
    elapsed.textContent = data.elapsed === null || data.elapsed === undefined
      ? "" : `${clock(seconds(data.elapsed))} elapsed`;
    if (data.eta === null || data.eta === undefined) {
      eta.textContent = data.ticking && data.total ? "ETA …" : "";
    } else {
      const left = data.eta - (data.ticking ? (performance.now() - received) / 1000 : 0);
      eta.textContent = `ETA ${clock(Math.max(0, left))}`;
    }
  }

  function update() {
    received = performance.now();
    const data = model.get("data") || {};
    const s = data.state || "idle";
    root.dataset.state = s;
    stateText.textContent = STATE_LABELS[s] || s;
    name.textContent = data.name || "";
    name.title = data.name || "";
    objective.textContent = data.objective ? `${data.objective}` : "";

    const c = data.counts || {};
    const done = (c.COMPLETE || 0) + (c.PRUNED || 0) + (c.FAIL || 0);
    const running = (c.RUNNING || 0) + (c.PAUSED || 0);
    const known = Object.values(c).reduce((a, b) => a + b, 0);
    const total = data.total || known;
    counts.replaceChildren();
    const head = h("span", "hpo-sb-done");
    head.textContent = data.total ? `${done.toLocaleString()} / ${data.total.toLocaleString()} trials`
      : plural(done, "trial") + " done";
    counts.append(head);
    const parts = [
      [running, "running", "running"],
      [c.PRUNED || 0, "pruned", "pruned"],
      [c.FAIL || 0, "failed", "fail"],
    ];
    for (const [n, word, cls] of parts) {
      if (!n) continue;
      const part = h("span", `hpo-sb-count hpo-sb-count--${cls}`);
      part.append(h("span", "hpo-sb-count-dot"), document.createTextNode(`${n.toLocaleString()} ${word}`));
      counts.append(part);
    }
    bar.replaceChildren();
    for (const [key, cls] of SEGMENTS) {
      const n = c[key] || 0;
      if (!n || !total) continue;
      const seg = h("span", `hpo-sb-seg hpo-sb-seg--${cls}`);
      seg.style.width = `${(100 * n) / total}%`;
      seg.title = `${n} ${cls}`;
      bar.append(seg);
    }
    bar.title = data.total ? `${done} of ${data.total} trials done` : `${done} trials done`;

    const b = data.best;
    best.replaceChildren();
    best.disabled = true;
    if (b && b.number !== undefined) {
      best.append(h("span", "hpo-sb-best-label", "Best"), h("span", "hpo-sb-best-value", b.value),
        h("span", "hpo-sb-best-trial", `#${b.number}`));
      best.disabled = false;
      best.dataset.number = String(b.number);
      best.title = `Select trial ${b.number}`;
    } else if (b && b.pareto !== undefined) {
      best.append(h("span", "hpo-sb-best-label", "Pareto front"),
        h("span", "hpo-sb-best-value", plural(b.pareto, "trial")));
    } else {
      best.append(h("span", "hpo-sb-best-label", "Best"), h("span", "hpo-sb-best-none", "—"));
    }

    const ctl = data.controls || {};
    pause.hidden = s === "paused";
    resume.hidden = s !== "paused";
    pause.disabled = !ctl.pause;
    resume.disabled = !ctl.resume;
    stop.disabled = !ctl.stop;
    add.disabled = !ctl.add_trials;
    addInput.disabled = !ctl.add_trials;
    addBox.title = data.read_only ? "This session has no objective: load it with objective= to run trials" : "";
    tick();
    if (timer) clearInterval(timer);
    timer = data.ticking ? setInterval(tick, 1000) : 0;
  }

  function showMessage() {
    const m = model.get("message") || {};
    message.textContent = m.text || "";
    message.dataset.level = m.level || "info";
    message.classList.toggle("hpo-sb-message--on", Boolean(m.text));
    if (messageTimer) clearTimeout(messageTimer);
    if (m.text && m.level !== "error") {
      messageTimer = setTimeout(() => message.classList.remove("hpo-sb-message--on"), 6000);
    }
  }

  controls.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-action]");
    if (!target || target.disabled) return;
    const action = target.dataset.action;
    if (action === "add_trials") {
      const n = Math.floor(Number(addInput.value));
      if (!Number.isFinite(n) || n < 1) {
        addInput.classList.add("hpo-sb-invalid");
        return;
      }
      addInput.classList.remove("hpo-sb-invalid");
      model.send({ type: "control", action, n });
    } else {
      model.send({ type: "control", action });
    }
  });
  addInput.addEventListener("keydown", (event) => {
    event.stopPropagation(); // keep JupyterLab's notebook shortcuts out of the field
    if (event.key === "Enter") add.click();
  });
  best.addEventListener("click", () => {
    const number = Number(best.dataset.number);
    if (!best.disabled && Number.isInteger(number)) model.send({ type: "select", number });
  });

  // A figure drawn into a tab that was just opened can miss its container's width: the
  // kernel asks for a window resize, which every plotly view answers by fitting its container.
  const onCustom = (msg) => {
    if (msg && msg.type === "resize") {
      for (const delay of [60, 400]) setTimeout(() => window.dispatchEvent(new Event("resize")), delay);
    }
  };
  model.on("msg:custom", onCustom);
  model.on("change:data", update);
  model.on("change:message", showMessage);
  update();
  showMessage();
  model.send({ type: "view", open: true });

  return () => {
    model.off("msg:custom", onCustom);
    model.off("change:data", update);
    model.off("change:message", showMessage);
    if (timer) clearInterval(timer);
    if (messageTimer) clearTimeout(messageTimer);
    try {
      model.send({ type: "view", open: false });
    } catch (error) {
      // the kernel side is gone already
    }
  };
}

export default { render };
