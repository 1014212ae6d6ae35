// The patient's zone gauge: the prescribed band on a heart-rate scale, the ceiling, and a marker at the current HR.
import { el, setData } from "./format.js";

export function createGauge(container) {
  const below = el("div", { class: "seg below" });
  const band = el("div", { class: "seg band" });
  const above = el("div", { class: "seg above" });
  const over = el("div", { class: "seg over" });
  const marker = el("div", { class: "marker" });
  const track = el("div", { class: "track" }, below, band, above, over, marker);
  const labels = el("div", { class: "gauge-labels" }, el("span", { class: "lo" }), el("span", { class: "hi" }), el("span", { class: "ceil" }));
  container.replaceChildren(track, labels);
  return { track, below, band, above, over, marker, labels };
}

/** Place the band, ceiling and marker; a scale from 25 bpm under the band to 20 over the ceiling. */
export function updateGauge(g, f) {
  const lo = f?.band_low_bpm;
  const hi = f?.band_high_bpm;
  const ceil = f?.ceiling_bpm ?? (hi != null ? hi + 15 : null);
  if (lo == null || hi == null) {
    g.track.hidden = true;
    return;
  }
  g.track.hidden = false;
  const min = lo - 25;
  const max = ceil + 20;
  const pct = (v) => `${Math.max(0, Math.min(100, ((v - min) / (max - min)) * 100))}%`;
  const width = (a, b) => `${Math.max(0, ((b - a) / (max - min)) * 100)}%`;
  g.below.style.width = width(min, lo);
  g.band.style.width = width(lo, hi);
  g.above.style.width = width(hi, ceil);
  g.over.style.width = width(ceil, max);
  const hr = f.hr_bpm;
  g.marker.hidden = hr == null;
  if (hr != null) g.marker.style.left = pct(hr);
  setData(g.track, "zone", f.zone ?? 0);
  const [loLabel, hiLabel, ceilLabel] = g.labels.children;
  loLabel.textContent = `${Math.round(lo)}`;
  loLabel.style.left = pct(lo);
  hiLabel.textContent = `${Math.round(hi)}`;
  hiLabel.style.left = pct(hi);
  ceilLabel.textContent = `max ${Math.round(ceil)}`;
  ceilLabel.style.left = pct(ceil);
}
