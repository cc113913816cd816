// Training curves for a run page of `axon report`: hand-written SVG, no library.
//
// The page holds its data in <script type="application/json" id="axon-data">
// ({"charts": [{"id", "title", "family", "series": [{"name", "x", "y"}]}]}, written by
// axon/report/site.py), since browsers refuse fetch() of file:// pages. Each chart is an
// SVG line plot with a legend; a null value is a gap in its line, never a 0. Hovering
// the plot shows the epoch and value of the nearest point; clicking a legend entry hides
// or shows its series. When a series has few points every point gets a marker, so a
// one-epoch run shows one visible point.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 560;
  const HEIGHT = 300;
  const MARGIN = { left: 74, right: 16, top: 14, bottom: 42 };
  const FEW = 30; // up to this many points, every point has a marker
  const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bc4c00", "#0a7c86"];

  // An element (SVG when `ns` is given) with attributes, appended to `parent`.
  function make(tag, attrs, parent, ns) {
    const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  // A value as the tooltip and the ticks show it: 6 significant digits, no trailing 0s.
  function format(value) {
    return String(Number(value.toPrecision(6)));
  }

  // About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times 10^k).
  function ticks(lo, hi, count, integer) {
    const raw = (hi - lo) / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const ratio = raw / power;
    let step = (ratio < 1.5 ? 1 : ratio < 3 ? 2 : ratio < 7 ? 5 : 10) * power;
    if (integer) step = Math.max(1, Math.round(step));
    const first = Math.floor(lo / step) * step;
    const last = Math.ceil(hi / step) * step;
    const out = [];
    for (let v = first; v <= last + step / 2; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  // The finite points of a series: [{x, y, index}], skipping nulls.
  function points(series) {
    const out = [];
    series.y.forEach((y, i) => {
      const x = series.x[i];
      if (Number.isFinite(x) && Number.isFinite(y)) out.push({ x: x, y: y, index: i });
    });
    return out;
  }

  // The drawn path of a series: a new "M" after every null, so gaps stay gaps.
  function pathData(series, sx, sy) {
    let d = "";
    let pen = false;
    series.y.forEach((y, i) => {
      const x = series.x[i];
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        pen = false;
        return;
      }
      d += (pen ? "L" : "M") + sx(x).toFixed(2) + "," + sy(y).toFixed(2);
      pen = true;
    });
    return d;
  }

  function drawChart(spec, parent) {
    const box = make("figure", { class: "chart", "data-chart": spec.id }, parent);
    make("figcaption", {}, box).textContent = spec.title;
    const legend = make("div", { class: "legend" }, box);
    const plot = make("div", { class: "plot" }, box);
    const svg = make("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img" }, plot, SVG);
    svg.setAttribute("aria-label", `${spec.title} per epoch`);
    const tooltip = make("div", { class: "tooltip", role: "tooltip" }, plot);
    tooltip.hidden = true;

    // Scales from the finite values of every series.
    const all = spec.series.flatMap(points);
    const integer = all.every((p) => Number.isInteger(p.x));
    const xs = all.map((p) => p.x);
    const ys = all.map((p) => p.y);
    let [x0, x1] = all.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
    let [y0, y1] = all.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
    if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
    if (y0 === y1) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
    const xt = ticks(x0, x1, 6, integer).filter((v) => v >= x0 && v <= x1);
    const yt = ticks(y0, y1, 5, false);
    [y0, y1] = [yt[0], yt[yt.length - 1]];
    const left = MARGIN.left;
    const right = WIDTH - MARGIN.right;
    const top = MARGIN.top;
    const bottom = HEIGHT - MARGIN.bottom;
    const sx = (x) => left + ((x - x0) / (x1 - x0)) * (right - left);
    const sy = (y) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);

    // Axes: grid lines with their labels, then the axis titles.
    const axes = make("g", { class: "axes" }, svg, SVG);
    const label = (text, attrs) => {
      make("text", attrs, axes, SVG).textContent = text;
    };
    for (const v of yt) {
      make("line", { x1: left, x2: right, y1: sy(v), y2: sy(v), class: "grid" }, axes, SVG);
      label(format(v), { x: left - 6, y: sy(v) + 4, "text-anchor": "end" });
    }
    for (const v of xt) {
      make("line", { x1: sx(v), x2: sx(v), y1: bottom, y2: bottom + 5, class: "tick" }, axes, SVG);
      label(format(v), { x: sx(v), y: bottom + 18, "text-anchor": "middle" });
    }
    make("line", { x1: left, x2: right, y1: bottom, y2: bottom, class: "axis" }, axes, SVG);
    const middle = (top + bottom) / 2;
    label("epoch", { x: (left + right) / 2, y: HEIGHT - 6, "text-anchor": "middle", class: "title" });
    label(spec.family, {
      x: 12, y: middle, "text-anchor": "middle", class: "title", transform: `rotate(-90 12 ${middle})`,
    });

    // One group per series: its line, and markers when it has few points (or a point
    // stands alone between gaps, which a line cannot show).
    const hoverable = [];
    spec.series.forEach((series, k) => {
      const color = COLORS[k % COLORS.length];
      const group = make("g", { class: "series", "data-series": series.name }, svg, SVG);
      const d = pathData(series, sx, sy);
      const line = make("path", { d: d, stroke: color, class: "line" }, group, SVG);
      if (series.name.startsWith("val_")) line.setAttribute("stroke-dasharray", "6 4");
      const finite = points(series);
      for (const p of finite) {
        const [before, after] = [series.y[p.index - 1], series.y[p.index + 1]];
        const alone = !Number.isFinite(before) && !Number.isFinite(after);
        const marker = finite.length <= FEW || alone;
        make("circle", {
          cx: sx(p.x), cy: sy(p.y), r: marker ? 4 : 0, fill: color,
          class: marker ? "point" : "point hidden", "data-epoch": p.x, "data-value": p.y,
        }, group, SVG);
        hoverable.push({ px: sx(p.x), py: sy(p.y), x: p.x, y: p.y, name: series.name, group: group });
      }

      // The legend entry toggles the series.
      const entry = make("button", {
        type: "button", class: "legend-entry", "data-series": series.name, "aria-pressed": "true",
      }, legend);
      make("span", { class: "swatch", style: `background:${color}` }, entry);
      entry.appendChild(document.createTextNode(series.name));
      entry.addEventListener("click", () => {
        const shown = group.style.display === "none";
        group.style.display = shown ? "" : "none";
        entry.setAttribute("aria-pressed", String(shown));
        entry.classList.toggle("off", !shown);
      });
    });

    // Hover: the nearest visible point (in the plot's own units) is ringed and named.
    const ring = make("circle", { r: 6, class: "ring" }, svg, SVG);
    ring.style.display = "none";
    function hide() {
      ring.style.display = "none";
      tooltip.hidden = true;
    }
    svg.addEventListener("mousemove", (event) => {
      const matrix = svg.getScreenCTM();
      if (!matrix) return;
      const at = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
      let best = null;
      let bestDistance = Infinity;
      for (const p of hoverable) {
        if (p.group.style.display === "none") continue;
        const distance = Math.hypot(p.px - at.x, p.py - at.y);
        if (distance < bestDistance) [best, bestDistance] = [p, distance];
      }
      if (!best) return hide();
      ring.setAttribute("cx", best.px);
      ring.setAttribute("cy", best.py);
      ring.style.display = "";
      tooltip.textContent = `${best.name}, epoch ${best.x}: ${format(best.y)}`;
      tooltip.hidden = false;
      // Place the tooltip beside the point, in the plot's CSS pixels.
      const scale = svg.getBoundingClientRect().width / WIDTH;
      const flip = best.px > WIDTH * 0.6;
      tooltip.style.left = `${best.px * scale + (flip ? -12 : 12)}px`;
      tooltip.style.top = `${best.py * scale - 12}px`;
      tooltip.style.transform = flip ? "translate(-100%, -100%)" : "translate(0, -100%)";
    });
    svg.addEventListener("mouseleave", hide);
  }

  const data = JSON.parse(document.getElementById("axon-data").textContent);
  const parent = document.getElementById("charts");
  for (const spec of data.charts) drawChart(spec, parent);
})();
