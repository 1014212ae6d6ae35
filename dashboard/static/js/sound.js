// Alarm tones generated with Web Audio (no audio files). Browsers start audio only after a user gesture, so the
// wall shows an "enable sound" control; the choice is remembered (localStorage) and, after a reload, the first
// click or key press anywhere resumes the audio. Every tone played is counted on <body data-alert-sound-count>
// (and the time of the last one in data-alert-sound-ms) so that tests and operators can see that it fired; a tone
// that could not play (sound off) is counted in data-alert-sound-blocked instead.

const PREF = "cardiorehab.sound";
const PATTERNS = {
  // [frequency Hz, duration s, gap s, repetitions, peak gain]
  urgent: [880, 0.16, 0.09, 3, 0.5],
  nurse: [660, 0.2, 0.12, 2, 0.4],
  patient_cue: [523, 0.15, 0, 1, 0.25],
};

export class AlarmSound {
  constructor(button) {
    this.button = button;
    this.ctx = null;
    this.wanted = localStorage.getItem(PREF) === "on";
    this.counts = { played: 0, blocked: 0 };
    button.addEventListener("click", () => this.toggle());
    const resumeOnGesture = () => {
      if (this.wanted) this.start();
    };
    document.addEventListener("pointerdown", resumeOnGesture, { capture: true });
    document.addEventListener("keydown", resumeOnGesture, { capture: true });
    this.render();
  }

  get running() {
    return this.ctx != null && this.ctx.state === "running";
  }

  async start() {
    this.ctx ??= new AudioContext();
    if (this.ctx.state !== "running") await this.ctx.resume().catch(() => {});
    this.render();
  }

  async toggle() {
    this.wanted = !this.wanted;
    localStorage.setItem(PREF, this.wanted ? "on" : "off");
    if (this.wanted) {
      await this.start();
      this.tone("patient_cue", false);
    } else {
      await this.ctx?.suspend();
    }
    this.render();
  }

  render() {
    const on = this.wanted && this.running;
    this.button.setAttribute("aria-pressed", String(on));
    this.button.textContent = on ? "Sound on" : this.wanted ? "Sound: click to resume" : "Enable sound";
    this.button.classList.toggle("attention", !on);
  }

  /** Play the tone of a tier; returns whether it could be played. */
  play(tier) {
    return this.tone(tier, true);
  }

  tone(tier, count) {
    if (!this.wanted || !this.running) {
      if (count) this.counts.blocked += 1;
      document.body.dataset.alertSoundBlocked = String(this.counts.blocked);
      this.render();
      return false;
    }
    const [freq, dur, gap, reps, peak] = PATTERNS[tier] ?? PATTERNS.nurse;
    const t0 = this.ctx.currentTime + 0.01;
    for (let i = 0; i < reps; i += 1) {
      const start = t0 + i * (dur + gap);
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = tier === "urgent" ? "square" : "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(peak, start + 0.015);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + dur);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(start);
      osc.stop(start + dur + 0.02);
    }
    if (count) {
      this.counts.played += 1;
      document.body.dataset.alertSoundCount = String(this.counts.played);
      document.body.dataset.alertSoundMs = String(Date.now());
    }
    return true;
  }
}
