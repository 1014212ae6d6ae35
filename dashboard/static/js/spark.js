// One small uPlot chart per wall tile: heart rate over the last minutes on the prescribed band.
import uPlot from "./uplot.js";

export const WINDOW_S = 300;
const BAND = "rgba(63, 185, 80, 0.22)";
const BAND_EDGE = "rgba(63, 185, 80, 0.55)";

export function sparkline(container, width, height) {
  const quiet = { show: false };
  const opts = {
    width,
    height,
    legend: quiet,
    cursor: { show: false },
    select: { show: false },
    axes: [quiet, quiet],
    scales: { x: { time: true, auto: false }, y: { auto: false, range: [40, 180] } },
    series: [
      {},
      { stroke: "#f0f3f6", width: 2, points: quiet, spanGaps: false },
      { stroke: BAND_EDGE, width: 1, points: quiet },
      { stroke: BAND_EDGE, width: 1, points: quiet },
    ],
    bands: [{ series: [3, 2], fill: BAND }],
    padding: [4, 2, 4, 2],
  };
  return new uPlot(opts, [[], [], [], []], container);
}

/** The y range: everything drawn plus a margin, at least 40 bpm tall (a flat line should look flat). */
export function yRange(hr, lo, hi) {
  let min = Infinity;
  let max = -Infinity;
  for (const arr of [hr, lo, hi]) {
    for (const v of arr) {
      if (v == null) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min === Infinity) return [50, 150];
  const mid = (min + max) / 2;
  const half = Math.max(20, (max - min) / 2 + 6);
  return [mid - half, mid + half];
}

/** Redraw from the ring: the last `WINDOW_S` seconds, or since the first sample when there is less (a new session
 * fills the width from its first minute instead of a sliver at the right edge). */
export function drawSpark(u, ring, nowS) {
  const data = ring.series();
  const [ymin, ymax] = yRange(data[1], data[2], data[3]);
  const first = data[0].length ? data[0][0] : nowS - 60;
  const xmin = Math.max(nowS - WINDOW_S, Math.min(first, nowS - 60));
  u.batch(() => {
    u.setData(data, false);
    u.setScale("x", { min: xmin, max: nowS });
    u.setScale("y", { min: ymin, max: ymax });
  });
}
