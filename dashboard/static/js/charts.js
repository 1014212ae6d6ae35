// Larger uPlot charts with axes: heart rate on the band (detail and report), the RR tachogram, ECG strips.
import uPlot from "./uplot.js";

const DARK = { axis: "#a8b1bc", grid: "#30363d", hr: "#f0f3f6", band: "rgba(63, 185, 80, 0.25)", edge: "#56d364", ceil: "#ff7b72" };
const LIGHT = { axis: "#24292f", grid: "#d0d7de", hr: "#0a3069", band: "rgba(26, 127, 55, 0.18)", edge: "#1a7f37", ceil: "#cf222e" };

const axis = (theme, extra = {}) => ({ stroke: theme.axis, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid }, ...extra });

function size(container, height) {
  return { width: Math.max(280, container.clientWidth || 600), height };
}

/** Heart rate (bpm) over time on the prescribed band, with the ceiling dashed. data: [t s, hr, lo, hi, ceiling]. */
export function hrChart(container, data, { height = 260, light = false } = {}) {
  const t = light ? LIGHT : DARK;
  const opts = {
    ...size(container, height),
    scales: { x: { time: true } },
    axes: [axis(t), axis(t, { label: "bpm", labelSize: 20 })],
    series: [
      {},
      { label: "Heart rate", stroke: t.hr, width: 2, spanGaps: false, points: { show: false } },
      { label: "Band low", stroke: t.edge, width: 1, points: { show: false } },
      { label: "Band high", stroke: t.edge, width: 1, points: { show: false } },
      { label: "Ceiling", stroke: t.ceil, width: 1.5, dash: [6, 4], points: { show: false } },
    ],
    bands: [{ series: [3, 2], fill: t.band }],
    legend: { show: true, live: false },
  };
  return new uPlot(opts, data, container);
}

/** RR intervals (ms) beat by beat. data: [t s, rr ms]. */
export function tachogram(container, data, { height = 200 } = {}) {
  const t = DARK;
  const opts = {
    ...size(container, height),
    scales: { x: { time: true } },
    axes: [axis(t), axis(t, { label: "RR ms", labelSize: 20 })],
    series: [{}, { label: "RR interval", stroke: "#79c0ff", width: 1, points: { show: true, size: 3, fill: "#79c0ff" } }],
    legend: { show: false },
  };
  return new uPlot(opts, data, container);
}

/** An ECG strip in mV against seconds from its start. data: [s, mV]. */
export function ecgChart(container, data, { height = 220 } = {}) {
  const t = DARK;
  const opts = {
    ...size(container, height),
    scales: { x: { time: false } },
    axes: [axis(t, { label: "s", labelSize: 20 }), axis(t, { label: "mV", labelSize: 20 })],
    series: [{ label: "s" }, { label: "ECG", stroke: "#ff9e97", width: 1, points: { show: false } }],
    legend: { show: false },
  };
  return new uPlot(opts, data, container);
}

/** Feature history points (REST) as hrChart data. */
export function featureSeries(points, ceiling) {
  const x = [];
  const hr = [];
  const lo = [];
  const hi = [];
  const ce = [];
  for (const p of points) {
    x.push(Date.parse(p.time) / 1000);
    hr.push(p.hr_bpm);
    lo.push(p.band_low_bpm);
    hi.push(p.band_high_bpm);
    ce.push(ceiling ?? null);
  }
  return [x, hr, lo, hi, ce];
}

/** Heart-rate readings (REST) as beat-by-beat RR points: each reading's RR intervals end at the reading. */
export function rrSeries(points) {
  const x = [];
  const y = [];
  for (const p of points) {
    const end = Date.parse(p.time) / 1000;
    let back = p.rr_ms.reduce((a, b) => a + b, 0) / 1000;
    for (const rr of p.rr_ms) {
      back -= rr / 1000;
      x.push(end - back);
      y.push(rr);
    }
  }
  return [x, y];
}

/** ECG frames (REST) as one strip: the newest `seconds` of samples, in mV. */
export function ecgSeries(frames, seconds = 10) {
  if (!frames.length) return null;
  const samples = [];
  for (const f of frames) for (const s of f.samples_uv) samples.push(s / 1000);
  const fs = frames[0].fs_hz;
  const keep = Math.min(samples.length, Math.round(seconds * fs));
  const tail = samples.slice(samples.length - keep);
  return [tail.map((_, i) => i / fs), tail];
}
