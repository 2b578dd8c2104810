// Brush relay of hpo_lab's dashboard: an anywidget ES module (no build step, no imports).
//
// It finds the plotly figure next to it (the element with class `target` inside the same
// `.hpo-dash-pareto` panel) and sends each box or lasso selection to the kernel as a custom
// message: {type: "brush", points: [[xaxis, customdata], ...]} ({points: []} when cleared).
//
// plotly's FigureWidget reports selections through the same synced attribute as hover events,
// and ipywidgets sends one sync message at a time, merging the ones that wait: a hover that
// follows a selection (the pointer still over a point when the button goes up) replaces it, and
// the kernel never hears of the selection. Custom messages are never merged.

export default {
  render({ model, el }) {
    el.classList.add("hpo-brush-relay");
    let gd = null;
    const onSelected = (event) => {
      const points = event && event.points ? event.points : [];
      model.send({
        type: "brush",
        points: points
          .filter((p) => p.customdata !== undefined && p.customdata !== null)
          .map((p) => [(p.data && p.data.xaxis) || "x", Number(p.customdata)]),
      });
    };
    const onDeselect = () => model.send({ type: "brush", points: [] });
    const attach = () => {
      const panel = el.closest(".hpo-dash-pareto");
      const found = panel ? panel.querySelector("." + model.get("target")) : null;
      if (!found || found === gd || typeof found.on !== "function") return;
      gd = found; // a new plot (a re-rendered view): listen to it
      gd.on("plotly_selected", onSelected);
      gd.on("plotly_deselect", onDeselect);
    };
    attach();
    const timer = setInterval(attach, 500);
    return () => clearInterval(timer);
  },
};
