// The explorer's only script: copy buttons, proofs fetched when opened, and the job page kept live.
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  try {
    await navigator.clipboard.writeText(button.dataset.copy);
    button.classList.add("done");
    button.textContent = "copied";
  } catch (err) {
    window.prompt("Copy:", button.dataset.copy);
  }
});

function wireProofs(root) {
  root.querySelectorAll("details.proof[data-src]").forEach((details) => {
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
}
wireProofs(document);

// Replace every [data-live] part of the page with the server's current rendering of it.
async function refreshLiveParts() {
  const response = await fetch(window.location.pathname, { credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  document.querySelectorAll("[data-live][id]").forEach((old) => {
    const now = fresh.getElementById(old.id);
    if (now) {
      old.replaceWith(now);
      wireProofs(now);
    }
  });
  const status = document.getElementById("job-status");
  if (status) status.dataset.updated = String(Date.now());
}

const live = document.getElementById("live");
if (live) {
  const bar = document.getElementById("live-bar");
  const stage = document.getElementById("live-stage");
  const round = document.getElementById("live-round");
  if (bar) bar.style.width = `${Math.round(Number(bar.dataset.fraction) * 100)}%`;
  const source = new EventSource(`/explorer/jobs/${live.dataset.job}/progress`);
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    live.hidden = false;
    live.dataset.running = ["finished", "failed"].includes(event.stage) ? "no" : "yes";
    if (bar) bar.style.width = `${Math.round(event.fraction * 100)}%`;
    if (stage) stage.textContent = `${event.stage}: ${event.message}`;
    if (event.round) showRound(event);
  };
  // The latest round on one line, and every round's figures as a line of their own.
  const unit = live.dataset.unit || "round";
  const rounds = document.getElementById("live-rounds");
  function showRound(event) {
    const metrics = Object.entries(event.metrics || {}).map(([k, v]) => `${k} ${v}`).join(", ");
    const seconds = event.eta_seconds;
    const eta = seconds != null ? `, about ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s left` : "";
    const text = `${unit} ${event.round} of ${event.rounds}${metrics ? `: ${metrics}` : ""}${eta}`;
    if (round) round.textContent = text;
    if (!rounds) return;
    const key = `${event.party}/${event.round}`; // a replayed event (reconnect) replaces its line
    let line = rounds.querySelector(`li[data-round="${CSS.escape(key)}"]`);
    if (!line) {
      line = document.createElement("li");
      line.dataset.round = key;
      rounds.append(line);
    }
    line.textContent = text;
  }
  const FINAL = ["Finalized", "Cancelled", "Aborted", "Refunded"];
  let known = `${live.dataset.status}/${live.dataset.steps}/${live.dataset.verified}`;
  source.addEventListener("trail", (message) => {
    const trail = JSON.parse(message.data);
    const now = `${trail.status}/${trail.steps}/${trail.verified}`;
    if (now !== known) {
      known = now;
      refreshLiveParts();
    }
    if (FINAL.includes(trail.status) && live.dataset.running !== "yes") source.close();
  });
  // EventSource reconnects by itself (sending Last-Event-ID); only a closed stream is final.
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && stage) stage.textContent += " (stream closed)";
  };
}
