// The explorer's only script: proofs fetched when opened, and a running job's live progress.
"use strict";

document.querySelectorAll("time[data-unix]").forEach((el) => {
  const when = new Date(Number(el.dataset.unix) * 1000);
  el.title = when.toISOString();
  el.textContent = when.toLocaleString();
});

document.querySelectorAll("details.proof").forEach((details) => {
  details.addEventListener("toggle", async () => {
    if (!details.open || details.dataset.loaded) return;
    const pre = details.querySelector("pre");
    try {
      const response = await fetch(details.dataset.src, { credentials: "same-origin" });
      const body = await response.json();
      pre.textContent = response.ok ? JSON.stringify(body.proof, null, 2) : `${body.code}: ${body.message}`;
      details.dataset.loaded = "yes";
    } catch (err) {
      pre.textContent = `Could not load the proof: ${err}`;
    }
  });
});

const live = document.getElementById("live");
if (live) {
  const bar = document.getElementById("live-bar");
  const stage = document.getElementById("live-stage");
  const source = new EventSource(`/explorer/jobs/${live.dataset.job}/progress`);
  const show = (message) => {
    const event = JSON.parse(message.data);
    bar.style.width = `${Math.round(event.fraction * 100)}%`;
    stage.textContent = `${event.stage}: ${event.message}`;
    if (event.stage === "finished" || event.stage === "failed") source.close();
  };
  source.onmessage = show;
  source.onerror = () => { stage.textContent += " (stream closed)"; source.close(); };
}
