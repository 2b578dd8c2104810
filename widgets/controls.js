// Controls tab of hpo_lab's dashboard: the lineage tree and the action log (an anywidget ES
// module, no build step, no imports).
//
// The `kind` trait says which view to draw from the `data` trait:
// - "lineage": hpo_lab/dashboard/_lineage.py LineageData (nodes depth first);
// - "actions": hpo_lab/dashboard/_action_log.py ActionLogData (rows newest first).
// Clicking a trial number sends {type: "select", number}.

const MAX_INDENT = 12;

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined && text !== null && text !== "") el.textContent = text;
  return el;
}

function stateLabel(state) {
  if (!state) return "";
  if (state === "FAIL") return "Failed";
  return state.charAt(0) + state.slice(1).toLowerCase();
}

function trialLink(number, selected) {
  const b = h("button", "hpo-cv-trial", `#${number}`);
  b.type = "button";
  b.dataset.number = String(number);
  b.title = `Select trial ${number}`;
  if (number === selected) b.classList.add("hpo-cv-trial--selected");
  return b;
}

function header(title, count) {
  const head = h("div", "hpo-cv-head");
  head.append(h("span", "hpo-cv-title", title));
  if (count) head.append(h("span", "hpo-cv-count", count));
  return head;
}

function drawLineage(root, d) {
  const nodes = d.nodes || [];
  const forks = d.n_forks || 0;
  root.append(header("Lineage", forks ? `${forks} fork${forks === 1 ? "" : "s"}` : ""));
  if (!nodes.length) {
    root.append(
      h(
        "div",
        "hpo-cv-empty",
        "No forks yet. Fork a trial above (or run PBT): each fork appears here under the trial it continues.",
      ),
    );
    return;
  }
  const body = h("div", "hpo-cv-body hpo-cv-tree");
  for (const n of nodes) {
    const row = h("div", "hpo-cv-node");
    row.dataset.number = String(n.number);
    row.dataset.state = n.state;
    row.style.setProperty("--depth", String(Math.min(n.depth, MAX_INDENT)));
    if (n.number === d.selected) row.classList.add("hpo-cv-node--selected");
    if (n.depth > 0) row.append(h("span", "hpo-cv-elbow", "└"));
    const dot = h("span", `hpo-cv-dot hpo-cv-dot--${String(n.state).toLowerCase()}`);
    dot.title = stateLabel(n.state);
    row.append(dot, trialLink(n.number, d.selected));
    if (n.is_best) row.append(h("span", "hpo-cv-best", "★"));
    const facts = h("span", "hpo-cv-facts");
    if (n.value) facts.append(h("span", "hpo-cv-value", n.value));
    else facts.append(h("span", "hpo-cv-muted", stateLabel(n.state).toLowerCase()));
    if (n.parent !== null && n.parent !== undefined) {
      const at = n.step ? ` @ step ${n.step}` : "";
      facts.append(h("span", "hpo-cv-muted", `from #${n.parent}${at}`));
    }
    if (n.changes) facts.append(h("span", "hpo-cv-changes", n.changes));
    row.append(facts);
    if (n.source) row.append(h("span", `hpo-cv-source hpo-cv-source--${n.source}`, n.source));
    row.title = [
      `Trial ${n.number} · ${stateLabel(n.state)}${n.value ? ` · ${n.value}` : ""}`,
      n.parent !== null && n.parent !== undefined ? `forked from trial ${n.parent}${n.step ? ` at step ${n.step}` : ""}` : "",
      n.changes ? `changed: ${n.changes}` : "",
      n.source ? `by: ${n.source}` : "",
    ]
      .filter(Boolean)
      .join("\n");
    body.append(row);
  }
  if (d.truncated) body.append(h("div", "hpo-cv-more", `… ${d.truncated} more trials`));
  root.append(body);
}

function drawActions(root, d) {
  const rows = d.rows || [];
  const total = d.total || 0;
  const sources = (d.sources || []).map(([s, n]) => `${n} ${s}`).join(" · ");
  root.append(header("Action log", total ? `${total} action${total === 1 ? "" : "s"}${sources ? ` · ${sources}` : ""}` : ""));
  if (!rows.length) {
    root.append(h("div", "hpo-cv-empty", "No actions yet: controls from code and from this dashboard are listed here."));
    return;
  }
  const body = h("div", "hpo-cv-body hpo-cv-log");
  const table = h("table", "hpo-cv-table");
  const head = h("tr");
  for (const label of ["Time", "Action", "Trial", "Source", "Result", "Details"]) head.append(h("th", "", label));
  const thead = h("thead");
  thead.append(head);
  table.append(thead);
  const tbody = h("tbody");
  for (const r of rows) {
    const tr = h("tr", "hpo-cv-action");
    tr.dataset.kind = r.kind;
    tr.dataset.source = r.source;
    tr.append(h("td", "hpo-cv-clock", r.clock), h("td", "hpo-cv-kind", r.kind.replace("_", " ")));
    const trial = h("td", "hpo-cv-trialcell");
    if (r.trial !== null && r.trial !== undefined) trial.append(trialLink(r.trial, null));
    tr.append(trial);
    const source = h("td");
    source.append(h("span", `hpo-cv-source hpo-cv-source--${r.source}`, r.source));
    tr.append(source);
    const failed = /^(failed|error|refused)/i.test(r.result);
    tr.append(h("td", `hpo-cv-result${failed ? " hpo-cv-result--failed" : ""}`, r.result));
    const text = h("td", "hpo-cv-text", r.text);
    text.title = r.text;
    tr.append(text);
    tbody.append(tr);
  }
  table.append(tbody);
  body.append(table);
  if (total > rows.length) body.append(h("div", "hpo-cv-more", `… ${total - rows.length} older actions (session.actions() has them all)`));
  root.append(body);
}

function render({ model, el }) {
  const root = h("div", "hpo-cv");
  el.append(root);

  function draw() {
    const kind = model.get("kind");
    const d = model.get("data") || {};
    const body = root.querySelector(".hpo-cv-body");
    const scroll = body ? body.scrollTop : 0;
    root.replaceChildren();
    root.dataset.kind = kind;
    if (kind === "lineage") drawLineage(root, d);
    else drawActions(root, d);
    const fresh = root.querySelector(".hpo-cv-body");
    if (fresh) fresh.scrollTop = scroll;
  }

  root.addEventListener("click", (event) => {
    const b = event.target.closest("button.hpo-cv-trial");
    if (!b) return;
    model.send({ type: "select", number: Number(b.dataset.number) });
  });

  model.on("change:data", draw);
  model.on("change:kind", draw);
  draw();
  return () => {
    model.off("change:data", draw);
    model.off("change:kind", draw);
  };
}

export default { render };
