// What patients enter: perceived exertion (Borg 6-20) and symptoms (the API's fixed list, severity 0-10).
import { api } from "./session.js";

export const BORG = [
  [6, "No exertion"],
  [7, "Extremely light"],
  [8, ""],
  [9, "Very light"],
  [10, ""],
  [11, "Light"],
  [12, ""],
  [13, "Somewhat hard"],
  [14, ""],
  [15, "Hard"],
  [16, ""],
  [17, "Very hard"],
  [18, ""],
  [19, "Extremely hard"],
  [20, "Maximal exertion"],
];

export const SYMPTOMS = [
  ["chest_pain", "Chest pain"],
  ["chest_tightness", "Chest tightness"],
  ["dyspnoea", "Short of breath"],
  ["dizziness", "Dizzy"],
  ["palpitations", "Heart racing or fluttering"],
  ["nausea", "Feeling sick"],
  ["fatigue", "Very tired"],
  ["leg_pain", "Leg pain"],
  ["sweating", "Cold sweat"],
  ["other", "Something else"],
];

export const symptomLabel = (code) => SYMPTOMS.find(([c]) => c === code)?.[1] ?? code;

const path = (pid, what) => `/api/v1/patients/${encodeURIComponent(pid)}/${what}`;

export function postRpe(patientId, rpe, sessionId, context = "during") {
  return api(path(patientId, "rpe"), { method: "POST", json: { rpe, context, ...(sessionId ? { session_id: sessionId } : {}) } });
}

export function postSymptoms(patientId, symptoms, severity, sessionId, note) {
  const body = { symptoms, severity, ...(sessionId ? { session_id: sessionId } : {}), ...(note ? { note } : {}) };
  return api(path(patientId, "symptoms"), { method: "POST", json: body });
}
