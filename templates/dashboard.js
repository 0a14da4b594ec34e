// opendpma dashboard: follows /api/v1/events and updates rows in place;
// sets and clears presence and sends reconfigure through the admin API.
// The page works without this file (a static table); with it, it is live.
"use strict";

const statusLine = document.getElementById("status");
const live = document.getElementById("live");

function say(text, isError) {
  statusLine.textContent = text;
  statusLine.className = isError ? "error" : "";
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = text;
  try { data = JSON.parse(text); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const reason = data && data.error ? data.error : response.status + " " + response.statusText;
    throw new Error(reason);
  }
  return data;
}

function formatTime(millis) {
  if (!millis) return "-";
  return new Date(millis).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function flash(row) {
  row.classList.remove("changed");
  void row.offsetWidth; // restart the animation
  row.classList.add("changed");
}

function lineRow(attribute, value) {
  for (const row of document.querySelectorAll("#lines tbody tr")) {
    if (row.dataset[attribute] === value) return row;
  }
  return null;
}

function showPresence(row, presence) {
  const state = row.querySelector(".state");
  state.textContent = presence.state;
  state.dataset.state = presence.state;
  row.querySelector(".subtype").textContent = presence.subtype;
  row.querySelector(".message").textContent = presence.message;
  row.querySelector(".since").textContent = formatTime(presence.changed_at);
}

function onPresence(event) {
  const value = JSON.parse(event.data);
  const row = lineRow("line", value.provider.replace(/^CustomPresence:/, ""));
  if (!row) return;
  showPresence(row, value);
  flash(row);
}

function onHint(event) {
  const value = JSON.parse(event.data);
  const row = lineRow("exten", value.exten);
  if (!row) return;
  row.querySelector(".call").textContent = value.extension_state_text;
  flash(row);
}

// Re-read everything (after a reconnect, and now and then for watchers).
async function refresh() {
  try {
    const lines = await api("GET", "/api/v1/lines");
    for (const line of lines) {
      const row = lineRow("line", line.name);
      if (!row) continue;
      showPresence(row, line.presence);
      row.querySelector(".call").textContent = line.extension_state_text;
      row.querySelector(".watchers").textContent = line.watchers;
    }
  } catch (error) {
    say("Could not refresh: " + error.message, true);
  }
}

function connect() {
  // EventSource reconnects by itself after errors (e.g. a server restart).
  const source = new EventSource("/api/v1/events");
  let wasDown = false;
  source.addEventListener("presence", onPresence);
  source.addEventListener("hint", onHint);
  source.addEventListener("lagged", refresh);
  source.onopen = () => {
    live.textContent = "live";
    live.className = "live on";
    if (wasDown) refresh();
    wasDown = false;
  };
  source.onerror = () => {
    live.textContent = "reconnecting…";
    live.className = "live off";
    wasDown = true;
  };
}

for (const form of document.querySelectorAll("form.set-presence")) {
  const line = form.dataset.line;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      state: form.elements.state.value,
      subtype: form.elements.subtype.value,
      message: form.elements.message.value,
    };
    try {
      const value = await api("PUT", "/api/v1/presence/" + encodeURIComponent("CustomPresence:" + line), body);
      say("Line " + line + " is now " + value.state + ".", false);
    } catch (error) {
      say("Line " + line + ": " + error.message, true);
    }
  });
  form.querySelector("button.clear").addEventListener("click", async () => {
    try {
      await api("DELETE", "/api/v1/presence/" + encodeURIComponent("CustomPresence:" + line));
      say("Line " + line + " cleared.", false);
    } catch (error) {
      say("Line " + line + ": " + error.message, true);
    }
  });
}

for (const button of document.querySelectorAll("button.reconfigure")) {
  button.addEventListener("click", async () => {
    const phone = button.dataset.phone;
    say("Reconfiguring " + phone + "…", false);
    try {
      const reports = await api("POST", "/api/v1/reconfigure/" + encodeURIComponent(phone));
      const report = reports[0] || {};
      let detail = report.code ? report.result + " " + report.code : report.result;
      if (report.reason) detail += ": " + report.reason;
      const failed = ["unknown_contact", "timeout", "asterisk_failed"].includes(report.result);
      say(phone + ": " + detail.replaceAll("_", " "), failed);
    } catch (error) {
      say(phone + ": " + error.message, true);
    }
  });
}

connect();
setInterval(refresh, 15000);
