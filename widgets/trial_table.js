// Trial table for hpo_lab's dashboard: an anywidget ES module (no build step, no imports).
//
// The model's rows live in a per-model store fed by custom messages (see hpo_lab/dashboard/
// _table.py for the protocol). Each view renders only the rows in its scroll window, from a
// pool of row elements, so 10,000 trials stay smooth.

const ROW_HEIGHT = 28;
const OVERSCAN = 6;
const PENDING_MS = 5000; // how long clicked row buttons stay disabled without an update
const STATE_ORDER = ["RUNNING", "STOPPING", "PAUSED", "WAITING", "COMPLETE", "PRUNED", "FAIL"];
const STATE_LABELS = { FAIL: "Failed" };
const NUMERIC = new Set(["int", "float", "duration"]);
const DEFAULT_WIDTH = { int: 76, float: 96, duration: 92, state: 116, str: 120 };

const stores = new WeakMap();

// ---------------------------------------------------------------- store (one per model)

function storeFor(model) {
  let store = stores.get(model);
  if (!store) {
    store = createStore(model);
    stores.set(model, store);
  }
  return store;
}

function createStore(model) {
  const store = {
    rows: new Map(),
    version: 0,
    pending: new Map(), // trial number -> action name clicked, until the row changes
    listeners: new Set(),
  };
  const changed = () => {
    store.version += 1;
    for (const listener of store.listeners) listener();
  };
  const merge = (row) => {
    const old = store.rows.get(row.number);
    store.rows.set(row.number, old ? { ...old, ...row } : row);
    store.pending.delete(row.number);
  };
  const onMessage = (msg) => {
    switch (msg && msg.type) {
      case "upsert":
        msg.rows.forEach(merge);
        changed();
        break;
      case "remove":
        for (const number of msg.numbers) store.rows.delete(number);
        changed();
        break;
      case "clear":
        store.rows.clear();
        changed();
        break;
      case "snapshot":
        if (msg.chunk === 0) store.rows.clear();
        msg.rows.forEach(merge);
        if (msg.chunk === msg.chunks - 1) changed();
        break;
    }
  };
  model.on("msg:custom", onMessage);
  store.dispose = () => model.off("msg:custom", onMessage);
  model.send({ type: "snapshot_request" });
  return store;
}

// ---------------------------------------------------------------- formatting

function toNumber(value) {
  if (typeof value === "number") return value;
  if (value === "NaN" || value === "Infinity" || value === "-Infinity") return Number(value);
  return null;
}

function formatFloat(x) {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e6) return String(Number(x.toPrecision(4)));
  const [mantissa, exponent] = x.toExponential(3).split("e");
  return `${String(Number(mantissa))}e${exponent.replace("+", "")}`;
}

function formatDuration(seconds) {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function stateLabel(state) {
  if (STATE_LABELS[state]) return STATE_LABELS[state];
  return state.charAt(0) + state.slice(1).toLowerCase();
}

function formatCell(value, type) {
  if (value === null || value === undefined || value === "") return "";
  if (NUMERIC.has(type)) {
    const x = toNumber(value);
    if (x === null) return String(value);
    if (type === "duration") return Number.isFinite(x) ? formatDuration(x) : formatFloat(x);
    if (type === "int" && Number.isInteger(x)) return String(x);
    return formatFloat(x);
  }
  if (type === "state") return stateLabel(String(value));
  return String(value);
}

// ---------------------------------------------------------------- sorting and filtering

function stateRank(state) {
  const rank = STATE_ORDER.indexOf(state);
  return rank < 0 ? STATE_ORDER.length : rank;
}

function sortKey(value, type) {
  if (value === null || value === undefined) return null;
  if (NUMERIC.has(type)) {
    const x = toNumber(value);
    return x === null || Number.isNaN(x) ? null : x;
  }
  if (type === "state") return stateRank(value);
  return String(value).toLowerCase();
}

function compareBy(column, descending) {
  const sign = descending ? -1 : 1;
  return (a, b) => {
    const x = sortKey(a[column.key], column.type);
    const y = sortKey(b[column.key], column.type);
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1; // empty cells last, either direction
    } else if (x < y) {
      return -sign;
    } else if (x > y) {
      return sign;
    }
    return a.number - b.number;
  };
}

const searchText = new WeakMap(); // row object -> lower-case text of its cells

function rowText(row, columns) {
  let text = searchText.get(row);
  if (text === undefined) {
    text = columns.map((c) => formatCell(row[c.key], c.type)).join(" ").toLowerCase();
    if (row.state) text += ` ${String(row.state).toLowerCase()}`;
    searchText.set(row, text);
  }
  return text;
}

// ---------------------------------------------------------------- DOM helpers

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function setText(el, text) {
  if (el._text !== text) {
    el._text = text;
    el.textContent = text;
  }
}

// Narrowest width that fits the column's header (uppercase 11px, sort arrow, padding).
function minWidth(column) {
  if (column.width) return column.width;
  const base = DEFAULT_WIDTH[column.type] || DEFAULT_WIDTH.str;
  return Math.max(base, Math.ceil(column.label.length * 7.5 + 34));
}

// Numbers grow a little past their minimum; text and the actions column take the rest.
function columnTrack(column) {
  const width = minWidth(column);
  if (column.width || column.type === "state" || column.key === "number") return `${width}px`;
  if (column.type === "str") return `minmax(${width}px, 2fr)`;
  return `minmax(${width}px, ${Math.round(width * 1.4)}px)`;
}

function badge(state) {
  const el = h("span", `hpo-tt-badge hpo-tt-badge--${state.toLowerCase()}`);
  el.append(h("span", "hpo-tt-dot"), h("span", "", stateLabel(state)));
  return el;
}

// ---------------------------------------------------------------- the view

function render({ model, el }) {
  const store = storeFor(model);
  const root = h("div", "hpo-tt");
  const toolbar = h("div", "hpo-tt-toolbar");
  const chips = h("div", "hpo-tt-chips");
  const count = h("div", "hpo-tt-count");
  const filter = h("input", "hpo-tt-filter");
  filter.type = "search";
  filter.placeholder = "Filter trials…";
  filter.setAttribute("aria-label", "Filter trials");
  toolbar.append(chips, count, filter);
  const scroller = h("div", "hpo-tt-scroll");
  scroller.tabIndex = 0;
  scroller.setAttribute("role", "grid");
  const head = h("div", "hpo-tt-row hpo-tt-head");
  head.setAttribute("role", "row");
  const body = h("div", "hpo-tt-body");
  const empty = h("div", "hpo-tt-empty");
  scroller.append(head, body, empty);
  root.append(toolbar, scroller);
  el.append(root);

  let columns = [];
  let actions = [];
  let view = []; // rows after filter and sort
  let viewVersion = -1;
  let viewIndex = new Map(); // trial number -> position in view
  let dirtyView = true;
  let holding = false; // the pointer is over the rows: keep their order (a row under the
  // pointer must not move away just before a click on its Prune button)
  let frame = 0;
  const pool = [];

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(draw);
  };
  const invalidate = () => {
    dirtyView = true;
    schedule();
  };
  const reorder = () => {
    scroller.scrollTop = 0; // a new sort or filter starts at the top
    invalidate();
  };

  function setupColumns() {
    columns = model.get("columns");
    actions = model.get("actions");
    const tracks = columns.map(columnTrack);
    const actionWidth = actions.length ? actions.length * 58 + 16 : 0;
    tracks.push(`minmax(${actionWidth}px, 1fr)`); // actions, or an empty filler
    root.style.setProperty("--hpo-tt-columns", tracks.join(" "));
    const total = columns.reduce((sum, c) => sum + minWidth(c), actionWidth);
    root.style.setProperty("--hpo-tt-min-width", `${total}px`);
    head.replaceChildren(
      ...columns.map((c) => {
        const th = h("div", `hpo-tt-cell hpo-tt-th${NUMERIC.has(c.type) ? " hpo-tt-num" : ""}`);
        th.dataset.key = c.key;
        th.setAttribute("role", "columnheader");
        th.title = `Sort by ${c.label}`;
        th.append(h("span", "hpo-tt-label", c.label), h("span", "hpo-tt-arrow"));
        return th;
      }),
    );
    if (actionWidth) head.append(h("div", "hpo-tt-cell hpo-tt-th hpo-tt-actions"));
    for (const row of pool) row.remove();
    pool.length = 0;
    updateHeader();
    invalidate();
  }

  function updateHeader() {
    const sortBy = model.get("sort_by");
    const desc = model.get("sort_desc");
    for (const th of head.children) {
      const active = th.dataset.key === sortBy;
      th.classList.toggle("hpo-tt-sorted", active);
      th.setAttribute("aria-sort", active ? (desc ? "descending" : "ascending") : "none");
      const arrow = th.querySelector(".hpo-tt-arrow");
      if (arrow) arrow.textContent = active ? (desc ? "▼" : "▲") : "";
    }
  }

  function rebuildView() {
    const sortBy = model.get("sort_by");
    const column = columns.find((c) => c.key === sortBy) || { key: "number", type: "int" };
    const words = model.get("filter_text").toLowerCase().split(/\s+/).filter(Boolean);
    const states = new Set(model.get("filter_states"));
    view = [];
    for (const row of store.rows.values()) {
      const state = row.state || "";
      if (states.size && !states.has(state)) continue;
      if (words.length) {
        const text = rowText(row, columns);
        if (!words.every((w) => text.includes(w))) continue;
      }
      view.push(row);
    }
    view.sort(compareBy(column, model.get("sort_desc")));
    viewIndex = new Map(view.map((row, i) => [row.number, i]));
    viewVersion = store.version;
    dirtyView = false;
    updateChips(states);
    const total = store.rows.size;
    const shown = view.length === total ? "" : `${view.length.toLocaleString("en-US")} of `;
    count.textContent = `${shown}${total.toLocaleString("en-US")} trial${total === 1 ? "" : "s"}`;
    body.style.height = `${view.length * ROW_HEIGHT}px`;
    empty.textContent = total === 0 ? "No trials yet" : "No trials match the filter";
    empty.hidden = view.length > 0;
  }

  // Chips are updated in place (not rebuilt), so a click is never lost to a streaming update.
  const chipByState = new Map();

  // The chips count every row as it is now, whatever the filter shows.
  function updateChips(active) {
    const counts = new Map();
    for (const row of store.rows.values()) {
      const state = row.state || "";
      counts.set(state, (counts.get(state) || 0) + 1);
    }
    const states = [...counts.keys()].filter(Boolean);
    for (const state of active) if (!counts.has(state)) states.push(state);
    states.sort((a, b) => stateRank(a) - stateRank(b) || a.localeCompare(b));
    for (const [state, chip] of chipByState) {
      if (!states.includes(state)) {
        chip.remove();
        chipByState.delete(state);
      }
    }
    states.forEach((state, index) => {
      let chip = chipByState.get(state);
      if (!chip) {
        chip = h("button", `hpo-tt-chip hpo-tt-chip--${state.toLowerCase()}`);
        chip.type = "button";
        chip.dataset.state = state;
        chip.append(h("span", "hpo-tt-dot"), h("span", "", stateLabel(state)));
        chip.append(h("span", "hpo-tt-chip-count"));
        chipByState.set(state, chip);
      }
      if (chips.children[index] !== chip) chips.insertBefore(chip, chips.children[index] || null);
      const on = active.has(state);
      chip.classList.toggle("hpo-tt-chip--on", on);
      chip.setAttribute("aria-pressed", on ? "true" : "false");
      chip.title = on ? "Show all states" : `Show only ${stateLabel(state)}`;
      setText(chip.lastChild, (counts.get(state) || 0).toLocaleString("en-US"));
    });
  }

  function makeRow() {
    const row = h("div", "hpo-tt-row");
    row.setAttribute("role", "row");
    for (const c of columns) {
      const cell = h("div", `hpo-tt-cell${NUMERIC.has(c.type) ? " hpo-tt-num" : ""}`);
      cell.setAttribute("role", "gridcell");
      row.append(cell);
    }
    if (actions.length) row.append(h("div", "hpo-tt-cell hpo-tt-actions"));
    body.append(row);
    return row;
  }

  function fillRow(el, data, index) {
    const state = data.state ? String(data.state) : "";
    const number = data.number;
    el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    el.dataset.number = number;
    el.dataset.state = state;
    el.classList.toggle("hpo-tt-selected", number === model.get("selected"));
    el.classList.toggle("hpo-tt-best", number === model.get("best"));
    el.classList.toggle("hpo-tt-odd", index % 2 === 1);
    el.setAttribute("aria-selected", number === model.get("selected") ? "true" : "false");
    columns.forEach((c, i) => {
      const cell = el.children[i];
      if (c.type === "state") {
        const key = `state:${state}`;
        if (cell._text !== key) {
          cell._text = key;
          cell.replaceChildren(state ? badge(state) : "");
        }
      } else {
        const text = formatCell(data[c.key], c.type);
        setText(cell, text);
        const title = data[c.key] == null ? "" : String(data[c.key]);
        if (cell.title !== title) cell.title = title;
      }
    });
    if (actions.length) {
      const cell = el.children[columns.length];
      const pending = store.pending.get(number) || "";
      const key = `${number}|${state}|${pending}`;
      if (cell._text !== key) {
        cell._text = key;
        cell.replaceChildren(
          ...actions
            .filter((a) => a.states.includes(state))
            .map((a) => {
              const button = h("button", `hpo-tt-action hpo-tt-action--${a.name}`, a.label);
              button.type = "button";
              button.dataset.action = a.name;
              button.title = `${a.label} trial ${number}`;
              if (pending) {
                button.disabled = true;
                if (pending === a.name) button.textContent = `${a.label}…`;
              }
              return button;
            }),
        );
      }
    }
  }

  function draw() {
    frame = 0;
    if (dirtyView || (viewVersion !== store.version && !holding)) rebuildView();
    else if (viewVersion !== store.version) {
      // Held: the rows keep their places and show their latest data; new rows wait.
      view = view.map((row) => store.rows.get(row.number) || row);
      updateChips(new Set(model.get("filter_states")));
    }
    const headHeight = head.offsetHeight;
    const top = Math.max(0, scroller.scrollTop - headHeight);
    const height = Math.max(scroller.clientHeight - headHeight, ROW_HEIGHT);
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(view.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    while (pool.length < last - first) pool.push(makeRow());
    for (let i = 0; i < pool.length; i++) {
      const index = first + i;
      const el = pool[i];
      if (index < last) {
        el.hidden = false;
        fillRow(el, view[index], index);
      } else {
        el.hidden = true;
      }
    }
  }

  function scrollToIndex(index) {
    const headHeight = head.offsetHeight;
    const rowTop = index * ROW_HEIGHT;
    const visible = scroller.clientHeight - headHeight;
    if (rowTop < scroller.scrollTop) scroller.scrollTop = rowTop;
    else if (rowTop + ROW_HEIGHT > scroller.scrollTop + visible) {
      scroller.scrollTop = rowTop + ROW_HEIGHT - visible;
    }
  }

  let localSelection; // the last selection made in this view: it needs no scrolling to

  function select(number, scroll) {
    localSelection = number;
    model.set("selected", number);
    model.save_changes();
    if (scroll && viewIndex.has(number)) scrollToIndex(viewIndex.get(number));
    schedule();
  }

  // ------------------------------------------------------------ events

  head.addEventListener("click", (event) => {
    const th = event.target.closest(".hpo-tt-th[data-key]");
    if (!th) return;
    const key = th.dataset.key;
    if (model.get("sort_by") === key) {
      model.set("sort_desc", !model.get("sort_desc"));
    } else {
      model.set("sort_by", key);
      model.set("sort_desc", false);
    }
    model.save_changes();
  });

  body.addEventListener("click", (event) => {
    const rowEl = event.target.closest(".hpo-tt-row");
    if (!rowEl) return;
    const number = Number(rowEl.dataset.number);
    const button = event.target.closest(".hpo-tt-action");
    if (button) {
      event.stopPropagation();
      const action = button.dataset.action;
      store.pending.set(number, action);
      model.send({ type: "action", action, number });
      store.listeners.forEach((listener) => listener());
      // The row's next update clears the pending mark; if none comes, re-enable the buttons.
      setTimeout(() => {
        if (store.pending.get(number) !== action) return;
        store.pending.delete(number);
        store.listeners.forEach((listener) => listener());
      }, PENDING_MS);
      return;
    }
    select(number, false);
    scroller.focus({ preventScroll: true });
  });

  chips.addEventListener("click", (event) => {
    const chip = event.target.closest(".hpo-tt-chip");
    if (!chip) return;
    const state = chip.dataset.state;
    const active = model.get("filter_states");
    model.set("filter_states", active.includes(state) ? [] : [state]);
    model.save_changes();
  });

  filter.value = model.get("filter_text");
  filter.addEventListener("input", () => {
    model.set("filter_text", filter.value);
    model.save_changes();
  });

  scroller.addEventListener("keydown", (event) => {
    if (event.target !== scroller) return;
    const page = Math.max(1, Math.floor((scroller.clientHeight - head.offsetHeight) / ROW_HEIGHT) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    let index;
    const current = viewIndex.get(model.get("selected"));
    if (event.key in moves) {
      index = current === undefined ? 0 : current + moves[event.key];
    } else if (event.key === "Home") {
      index = 0;
    } else if (event.key === "End") {
      index = view.length - 1;
    } else if (event.key === "Escape") {
      localSelection = null;
      model.set("selected", null);
      model.save_changes();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation(); // keep JupyterLab's notebook shortcuts out of it
    if (index !== undefined && view.length) {
      index = Math.min(view.length - 1, Math.max(0, index));
      select(view[index].number, true);
    }
  });

  body.addEventListener("pointerenter", () => {
    holding = true;
  });
  body.addEventListener("pointerleave", () => {
    holding = false;
    schedule();
  });
  scroller.addEventListener("scroll", schedule, { passive: true });
  const resize = new ResizeObserver(schedule);
  resize.observe(scroller);

  const applyHeight = () => {
    root.style.height = `${model.get("height")}px`;
    schedule();
  };
  const onSelected = () => {
    const selected = model.get("selected");
    const index = viewIndex.get(selected);
    if (index !== undefined && selected !== localSelection) scrollToIndex(index);
    localSelection = undefined;
    schedule();
  };
  const onSort = () => {
    updateHeader();
    reorder();
  };
  const onFilterText = () => {
    if (filter.value !== model.get("filter_text")) filter.value = model.get("filter_text");
    reorder();
  };
  const subscriptions = [
    ["change:columns change:actions", setupColumns],
    ["change:sort_by change:sort_desc", onSort],
    ["change:filter_text", onFilterText],
    ["change:filter_states", reorder],
    ["change:selected", onSelected],
    ["change:best", schedule],
    ["change:height", applyHeight],
  ];
  for (const [events, handler] of subscriptions) model.on(events, handler);
  store.listeners.add(schedule);

  applyHeight();
  setupColumns();

  return () => {
    for (const [events, handler] of subscriptions) model.off(events, handler);
    store.listeners.delete(schedule);
    resize.disconnect();
    if (frame) cancelAnimationFrame(frame);
  };
}

export default {
  initialize({ model }) {
    const store = storeFor(model);
    return () => {
      store.dispose();
      stores.delete(model);
    };
  },
  render,
};
