// Selected-trial card of hpo_lab's dashboard: an anywidget ES module (no build step, no imports).
//
// Renders the `data` trait (hpo_lab/dashboard/_detail.py: DetailData): state, values, params,
// a small chart per series (SVG, hover shows the value at a step), the trial's story and, for a
// failure, its reason and traceback. Buttons send {type: "action", action, number}.

const SVG = "http://www.w3.org/2000/svg";
const CHART_W = 240;
const CHART_H = 64;
const STATE_LABELS = { FAIL: "Failed" };

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined && text !== null) el.textContent = text;
  return el;
}

function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  return el;
}

function stateLabel(state) {
  if (!state) return "";
  return STATE_LABELS[state] || state.charAt(0) + state.slice(1).toLowerCase();
}

function badge(state) {
  const el = h("span", `hpo-td-badge hpo-td-badge--${String(state).toLowerCase()}`);
  el.append(h("span", "hpo-td-dot"), h("span", "", stateLabel(state)));
  return el;
}

function fmt(x) {
  if (x === null || x === undefined) return "—";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e6) return String(Number(x.toPrecision(4)));
  return x.toExponential(2).replace("e+", "e");
}

function timeOfDay(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function pairs(className, items) {
  const dl = h("dl", className);
  for (const [k, v] of items) {
    const row = h("div", "hpo-td-pair");
    row.append(h("dt", "", k), h("dd", "", v));
    dl.append(row);
  }
  return dl;
}

// A small line chart of one series, with a hover readout.
function chart(series) {
  const box = h("div", "hpo-td-chart");
  const head = h("div", "hpo-td-chart-head");
  head.append(h("span", "hpo-td-chart-name", series.name), h("span", "hpo-td-chart-last", series.last));
  const readout = h("span", "hpo-td-chart-readout");
  head.append(readout);
  const xs = series.x;
  const ys = series.y;
  const finite = ys.filter((v) => v !== null);
  const svg = s("svg", {
    viewBox: `0 0 ${CHART_W} ${CHART_H}`,
    preserveAspectRatio: "none",
    class: "hpo-td-svg",
  });
  if (finite.length) {
    let lo = Math.min(...finite);
    let hi = Math.max(...finite);
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    const x0 = xs[0];
    const x1 = xs[xs.length - 1] === x0 ? x0 + 1 : xs[xs.length - 1];
    const px = (x) => ((x - x0) / (x1 - x0)) * (CHART_W - 4) + 2;
    const py = (y) => CHART_H - 4 - ((y - lo) / (hi - lo)) * (CHART_H - 8);
    let d = "";
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      if (ys[i] === null) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${px(xs[i]).toFixed(1)},${py(ys[i]).toFixed(1)}`;
      pen = true;
    }
    svg.append(s("path", { d, class: "hpo-td-line", "vector-effect": "non-scaling-stroke" }));
    const dot = s("circle", { r: 2.5, class: "hpo-td-hover-dot", visibility: "hidden" });
    svg.append(dot);
    svg.addEventListener("mousemove", (event) => {
      const rect = svg.getBoundingClientRect();
      const x = x0 + ((event.clientX - rect.left) / rect.width) * (x1 - x0);
      let best = 0;
      for (let i = 1; i < xs.length; i++) {
        if (Math.abs(xs[i] - x) < Math.abs(xs[best] - x)) best = i;
      }
      if (ys[best] === null) return;
      dot.setAttribute("cx", px(xs[best]));
      dot.setAttribute("cy", py(ys[best]));
      dot.setAttribute("visibility", "visible");
      readout.textContent = `step ${fmt(xs[best])}: ${fmt(ys[best])}`;
    });
    svg.addEventListener("mouseleave", () => {
      dot.setAttribute("visibility", "hidden");
      readout.textContent = "";
    });
  }
  const foot = h("div", "hpo-td-chart-foot");
  foot.append(h("span", "", `min ${series.min}`), h("span", "", `max ${series.max}`));
  box.append(head, svg, foot);
  return box;
}

function section(title, content) {
  const sec = h("section", "hpo-td-section");
  sec.append(h("h4", "hpo-td-h", title), content);
  return sec;
}

function render({ model, el }) {
  const root = h("div", "hpo-td");
  el.appendChild(root);
  let pending = null; // the action clicked, until the next update

  function draw() {
    const d = model.get("data") || {};
    root.style.height = `${model.get("height")}px`;
    root.replaceChildren();
    if (d.number === null || d.number === undefined) {
      const empty = h("div", "hpo-td-empty");
      empty.append(h("div", "hpo-td-empty-title", "No trial selected"),
        h("div", "", "Click a row of the table, a curve or a point to see a trial here."));
      root.append(empty);
      return;
    }
    root.dataset.state = d.state;
    const head = h("header", "hpo-td-head");
    const title = h("div", "hpo-td-title");
    title.append(h("span", "hpo-td-number", `Trial ${d.number}`), badge(d.state));
    if (d.is_best) title.append(h("span", "hpo-td-best", "★ best"));
    head.append(title);
    const actions = h("div", "hpo-td-actions");
    for (const action of d.actions || []) {
      const b = h("button", `hpo-td-btn hpo-td-btn--${action}`, action === "prune" ? "Prune" : "Stop");
      b.type = "button";
      b.dataset.action = action;
      b.title = action === "prune" ? "End as PRUNED at its next report" : "End at its next report, keeping its last value";
      if (pending) b.disabled = true;
      actions.append(b);
    }
    head.append(actions);
    root.append(head);

    if (d.values && d.values.length) {
      const vals = h("div", "hpo-td-values");
      for (const [k, v] of d.values) {
        const item = h("div", "hpo-td-value");
        item.append(h("span", "hpo-td-value-label", k), h("span", "hpo-td-value-num", v));
        vals.append(item);
      }
      root.append(vals);
    }
    if (d.reason) {
      const reason = h("div", `hpo-td-reason hpo-td-reason--${String(d.state).toLowerCase()}`, d.reason);
      root.append(reason);
    }
    if (d.traceback) {
      const details = h("details", "hpo-td-tb");
      details.append(h("summary", "", "Traceback"), h("pre", "", d.traceback));
      root.append(details);
    }
    if (d.params && d.params.length) root.append(section("Parameters", pairs("hpo-td-pairs", d.params)));
    if (d.info && d.info.length) root.append(pairs("hpo-td-info", d.info));
    if (d.series && d.series.length) {
      const grid = h("div", "hpo-td-charts");
      for (const series of d.series) grid.append(chart(series));
      root.append(section("Series", grid));
    }
    if (d.history && d.history.length) {
      const list = h("ol", "hpo-td-history");
      for (const [t, state, text] of d.history) {
        const item = h("li", `hpo-td-event${state ? ` hpo-td-event--${state.toLowerCase()}` : ""}`);
        item.append(h("span", "hpo-td-event-time", timeOfDay(t)), h("span", "hpo-td-event-text", text));
        list.append(item);
      }
      root.append(section("History", list));
    }
  }

  root.addEventListener("click", (event) => {
    const b = event.target.closest("button[data-action]");
    if (!b || b.disabled) return;
    const d = model.get("data") || {};
    pending = b.dataset.action;
    model.send({ type: "action", action: pending, number: d.number });
    for (const other of root.querySelectorAll(".hpo-td-btn")) other.disabled = true;
    b.textContent = `${b.textContent}…`;
    setTimeout(() => {
      if (pending) {
        pending = null;
        draw();
      }
    }, 5000);
  });

  const onData = () => {
    pending = null;
    const scroll = root.scrollTop;
    draw();
    root.scrollTop = scroll;
  };
  model.on("change:data", onData);
  model.on("change:height", draw);
  draw();
  return () => {
    model.off("change:data", onData);
    model.off("change:height", draw);
  };
}

export default { render };
