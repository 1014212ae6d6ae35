import { connectLive } from "./live.js";
import { api, clearSession, requireSession } from "./session.js";

const tiles = new Map();
const root = document.getElementById("tiles");

function tileFor(patientId, name) {
  let tile = tiles.get(patientId);
  if (!tile) {
    tile = document.createElement("article");
    tile.className = "tile";
    tile.dataset.patient = patientId;
    tile.innerHTML = `<h2 class="name"></h2><p class="hr"><span class="bpm">--</span> <small>bpm</small></p>
      <p class="band"></p><p class="meta"></p>`;
    tile.querySelector(".name").textContent = name || patientId;
    root.appendChild(tile);
    tiles.set(patientId, tile);
  }
  return tile;
}

function render(features) {
  const tile = tileFor(features.patient_id);
  const hr = features.hr_bpm == null ? "--" : Math.round(features.hr_bpm);
  tile.querySelector(".bpm").textContent = hr;
  const band = features.band_low_bpm == null ? "" : `band ${Math.round(features.band_low_bpm)}–${Math.round(features.band_high_bpm)}`;
  tile.querySelector(".band").textContent = band;
  tile.querySelector(".meta").textContent = `zone ${features.zone ?? "-"} · ${features.signal} · ${features.phase}`;
  tile.dataset.zone = features.zone ?? "";
  tile.dataset.inBand = String(features.in_band);
  tile.dataset.updated = String(features.t_s);
}

async function main() {
  const session = await requireSession();
  document.getElementById("who").textContent = session.display_name;
  document.getElementById("logout").addEventListener("click", () => {
    clearSession();
    window.location.replace("/");
  });
  for (const p of await api("/api/v1/patients")) tileFor(p.id, p.display_name);
  connectLive({ scope: "clinic" }, (_kind, events) => {
    for (const e of events) if (e.kind === "features") render(e.data);
  }, (state) => { document.getElementById("connection").textContent = state; });
}

main();
