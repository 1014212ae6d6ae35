// A fixed-capacity ring buffer of per-second samples (time, HR, band low/high). Appending is O(1) and allocates
// nothing; `series()` fills reusable arrays in time order for uPlot only when a chart is about to be drawn.

const GAP_S = 5;

export class SampleRing {
  constructor(capacity) {
    this.capacity = capacity;
    this.t = new Float64Array(capacity);
    this.hr = new Float64Array(capacity);
    this.lo = new Float64Array(capacity);
    this.hi = new Float64Array(capacity);
    this.head = 0; // next write position
    this.size = 0;
    this.out = [[], [], [], []];
  }

  get lastTime() {
    return this.size ? this.t[(this.head - 1 + this.capacity) % this.capacity] : -Infinity;
  }

  /** Append one second. A sample for the last second replaces it; an older one is ignored (late). */
  push(t, hr, lo, hi) {
    if (this.size && t <= this.lastTime) {
      if (t !== this.lastTime) return false;
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.size -= 1;
    }
    const i = this.head;
    this.t[i] = t;
    this.hr[i] = hr ?? NaN;
    this.lo[i] = lo ?? NaN;
    this.hi[i] = hi ?? NaN;
    this.head = (i + 1) % this.capacity;
    if (this.size < this.capacity) this.size += 1;
    return true;
  }

  /** Replace the contents with `samples` (history from REST) merged with what is held, newest kept. */
  merge(samples) {
    const held = new Map();
    for (const s of samples) held.set(s[0], s);
    this.forEach((t, hr, lo, hi) => held.set(t, [t, hr, lo, hi]));
    const all = [...held.values()].sort((a, b) => a[0] - b[0]).slice(-this.capacity);
    this.head = 0;
    this.size = 0;
    for (const s of all) this.push(...s);
  }

  forEach(fn) {
    const start = (this.head - this.size + this.capacity) % this.capacity;
    for (let k = 0; k < this.size; k += 1) {
      const i = (start + k) % this.capacity;
      fn(this.t[i], nullable(this.hr[i]), nullable(this.lo[i]), nullable(this.hi[i]));
    }
  }

  /** [times, hr, band low, band high] in time order, in arrays reused between calls. Missing seconds are null,
   * and a break of more than `GAP_S` gets a null point so that the line is not drawn across it. */
  series() {
    const [t, hr, lo, hi] = this.out;
    t.length = hr.length = lo.length = hi.length = 0;
    let prev = -Infinity;
    this.forEach((ts, h, l, u) => {
      if (ts - prev > GAP_S && prev !== -Infinity) {
        t.push(prev + 1);
        hr.push(null);
        lo.push(null);
        hi.push(null);
      }
      t.push(ts);
      hr.push(h);
      lo.push(l);
      hi.push(u);
      prev = ts;
    });
    return this.out;
  }
}

const nullable = (v) => (Number.isNaN(v) ? null : v);
