// What the dashboard changes in plotly's widget view (plotly's `FigureView`).
//
// hpo_lab/dashboard/_figure.py inserts this file into plotly's own widget bundle, just before the
// bundle's last `export`, and calls it with the bundle's view class: `(this file)(View);`. So it
// is one expression, a function of that class, and it may use only what the view offers
// (`this.el`: plotly's graph div, `this.model`) and what plotly.js keeps on the graph div.
//
// 1. Acknowledgements. After every edit plotly's view compares every trace's defaults with its
//    copy and sends the differences (the trace deltas, 85 kB for 65 traces), then the layout's.
//    The kernel reads neither: the layout delta goes out empty, carrying the edit's id, which
//    is the acknowledgement the dashboard's pacer waits for.
// 2. Moving points. The dashboard sends the points of running trials' curves as an animation
//    without redraw. plotly.js's `animate` then supplies the defaults of every trace and of the
//    layout again and recomputes every trace, to draw only the traces given: about two thirds
//    of its time per frame for the learning curves of a 1,000-trial search. When a frame only
//    changes SVG scatter traces' points, names, hover texts, line and marker styles, with
//    values of the kinds plotly.js already filled in for them, the view does the rest of
//    plotly's animate itself: it sets the values, recomputes those traces with their own
//    module, and draws them with their subplot's plot method, as plotly's transition does.
//    Anything else (a new property, a layout change, other trace types, an edit still
//    drawing) goes to plotly's animate, as does a frame whose drawing fails.
(function (View) {
  "use strict";

  View.prototype._sendTraceDeltas = function () {};
  View.prototype._sendLayoutDelta = function (id) {
    this.model.set("_js2py_widget_layoutDelta", { layout_delta: {}, layout_edit_id: id });
    this.touch();
  };

  // What a frame may change and still be drawn without plotly's animate (the kernel's
  // `ANIMATABLE`, hpo_lab/dashboard/_send.py).
  var MOVABLE = {
    x: true,
    y: true,
    customdata: true,
    name: true,
    hovertemplate: true,
    line: true,
    marker: true,
  };
  var NO_TRANSITION = { duration: 0, easing: "cubic-in-out", ordering: "layout first" };

  function isArray(value) {
    return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !isArray(value);
  }

  function hasArrayLeaf(value) {
    if (isArray(value)) return true;
    if (!isObject(value)) return false;
    for (var key in value) {
      if (hasArrayLeaf(value[key])) return true;
    }
    return false;
  }

  // Whether `value` may take the place of `full` (what plotly.js made of a property when it
  // last supplied the defaults) without supplying them again: every key of it is one plotly.js
  // filled in, and of the same kind (array, container, or a plain value of the same type).
  function fits(value, full) {
    if (value === null) return full === null || full === undefined; // unset, and it was
    if (value === undefined || full === null || full === undefined) return false;
    if (isArray(value) || isArray(full)) return isArray(value) && isArray(full);
    if (isObject(value) || isObject(full)) {
      if (!isObject(value) || !isObject(full)) return false;
      for (var key in value) {
        if (!fits(value[key], full[key])) return false;
      }
      return true;
    }
    return typeof value === typeof full;
  }

  // Deep assignment as plotly's own animate does it: containers merged, arrays replaced. In
  // a full trace (`full`), a property unset (null) stays as plotly.js left it: not there.
  function assign(target, values, full) {
    for (var key in values) {
      var value = values[key];
      if (isObject(value)) {
        if (!isObject(target[key])) target[key] = {};
        assign(target[key], value, full);
      } else if (!(full && value === null)) {
        target[key] = value;
      }
    }
  }

  // Whether plotly.js would draw this frame as `move` does: an animation without redraw,
  // transition or layout changes, of visible SVG scatter traces, whose new values fit what
  // plotly.js made of them (so the defaults it supplied still hold).
  function movable(gd, message, indexes) {
    var options = message.animation_opts || {};
    var frame = options.frame || {};
    var transition = options.transition || {};
    if (frame.redraw !== false || transition.duration) return false;
    var layout = message.layout_data;
    if (layout && Object.keys(layout).length) return false;
    var styles = message.style_data;
    if (!Array.isArray(styles) || !styles.length || styles.length !== indexes.length) {
      return false;
    }
    if (!gd._fullLayout || !gd._fullData || !gd.calcdata || !gd.data) return false;
    if (gd._transitioning || (gd._promises && gd._promises.length)) return false;
    for (var i = 0; i < indexes.length; i++) {
      var index = indexes[i];
      var trace = gd._fullData[index];
      var style = styles[i];
      if (!trace || !gd.data[index] || !gd.calcdata[index] || !isObject(style)) return false;
      if (trace.type !== "scatter" || trace.visible !== true) return false;
      var module = trace._module;
      if (!module || !module.calc || !module.basePlotModule || !module.basePlotModule.plot) {
        return false;
      }
      if ((trace.fill && trace.fill !== "none") || trace.stackgroup) return false;
      if ((trace.error_x && trace.error_x.visible) || (trace.error_y && trace.error_y.visible)) {
        return false;
      }
      if (isArray(trace.hoverinfo) || isArray(trace.hovertemplate)) return false;
      if (hasArrayLeaf(trace.hoverlabel)) return false;
      for (var key in style) {
        if (!MOVABLE[key] || !fits(style[key], trace[key])) return false;
      }
    }
    return true;
  }

  // Sets the new values, recomputes the traces and draws them (see the file's header).
  function move(gd, message, indexes) {
    var styles = message.style_data;
    var byModule = {};
    for (var i = 0; i < indexes.length; i++) {
      var index = indexes[i];
      var trace = gd._fullData[index];
      var input = gd.data[index];
      assign(input, styles[i], false);
      assign(trace, styles[i], true);
      trace._length = Math.min(trace.x ? trace.x.length : 0, trace.y ? trace.y.length : 0);
      trace._extremes = {};
      var computed = trace._length ? trace._module.calc(gd, trace) : [];
      if (!Array.isArray(computed) || !computed[0]) computed = [{ x: undefined, y: undefined }];
      if (!computed[0].t) computed[0].t = {};
      computed[0].trace = trace;
      gd.calcdata[index] = computed;
      var base = trace._module.basePlotModule;
      (byModule[base.name] = byModule[base.name] || { base: base, indexes: [] }).indexes.push(
        index,
      );
    }
    var done = function () {
      return function () {};
    };
    for (var name in byModule) {
      byModule[name].base.plot(gd, byModule[name].indexes, NO_TRANSITION, done);
    }
  }

  var animate = View.prototype.do_animate;
  if (typeof animate !== "function") return;
  View.prototype.do_animate = function () {
    var message = this.model.get("_py2js_animate");
    if (message) {
      var indexes = this.model._normalize_trace_indexes(message.style_traces);
      var moved = false;
      try {
        if (movable(this.el, message, indexes)) {
          move(this.el, message, indexes);
          moved = true;
        }
      } catch (error) {
        console.warn("hpo_lab: moving points failed, plotly's animate draws the frame", error);
      }
      if (moved) {
        var gd = this.el;
        this._sendTraceDeltas(message.trace_edit_id);
        this._sendLayoutDelta(message.layout_edit_id);
        if (gd._fullLayout._rehover) gd._fullLayout._rehover(); // a hover label shown follows
        gd.emit("plotly_animated"); // as plotly's animate does when it is done
        return;
      }
    }
    return animate.call(this);
  };
});
