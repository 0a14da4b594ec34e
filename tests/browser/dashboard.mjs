// Browser test of the admin dashboard, in Debian's headless Chromium via
// playwright-core. Usage: node dashboard.mjs ADMIN_URL TOKEN SCREENSHOT
// Logs in, sees the lines, changes a presence through the API and sees
// the row update live, sets a presence through the page and checks the
// API reports it, shows an API error, and saves a screenshot.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [adminUrl, token, screenshot] = process.argv.slice(2);
const api = async (method, path, body) => {
  const response = await fetch(adminUrl + path, {
    method,
    headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
};

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "opendpma-chromium-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"],
  viewport: { width: 1400, height: 900 },
});
const page = browser.pages()[0] ?? await browser.newPage();
const failures = [];
page.on("pageerror", (error) => failures.push(String(error)));

try {
  // 1. Not logged in: the login form; a wrong token is refused.
  await page.goto(adminUrl + "/");
  await page.getByLabel("Admin token").fill("wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "not right" }).waitFor();
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();

  // 2. The lines are there, and the page goes live.
  await page.getByRole("heading", { name: "Lines" }).waitFor();
  const row = (line) => page.locator(`#lines tbody tr[data-line="${line}"]`);
  assert.equal(await page.locator("#lines tbody tr").count(), 5);
  assert.match(await row("2000").locator("th").innerText(), /Bob/);
  await page.locator("#live.on").waitFor();

  // 3. A change through the API shows up in the row, within 100 ms of
  //    the API's answer (the event is sent before the answer returns).
  const started = Date.now();
  const changed = await api("PUT", "/api/v1/presence/CustomPresence:2001", { state: "dnd", subtype: "meeting", message: "until 3 & later" });
  assert.equal(changed.status, 200);
  await row("2001").locator(".state", { hasText: "dnd" }).waitFor({ timeout: 2000 });
  const latency = Date.now() - started;
  assert.equal(await row("2001").locator(".message").innerText(), "until 3 & later");
  console.log(`row updated ${latency} ms after the API call was sent`);

  // 4. A device change updates the call state column.
  await api("PUT", "/api/v1/devices/Custom:2000", { state: "INUSE" });
  await row("2000").locator(".call", { hasText: "InUse" }).waitFor({ timeout: 2000 });

  // 5. Set a presence through the page; the API reports it.
  const form = row("2002").locator("form.set-presence");
  await form.getByLabel("State").selectOption("away");
  await form.getByLabel("Subtype").fill("lunch");
  await form.getByLabel("Message").fill("back at 2");
  await form.getByRole("button", { name: "Set" }).click();
  await page.locator("#status", { hasText: "Line 2002 is now away." }).waitFor();
  const read = await api("GET", "/api/v1/presence/CustomPresence:2002");
  assert.deepEqual([read.body.state, read.body.subtype, read.body.message], ["away", "lunch", "back at 2"]);
  await row("2002").locator(".state", { hasText: "away" }).waitFor();

  // 6. An error from the API is shown, not swallowed: 200 characters fit
  //    the field, but as UTF-8 they are 400 bytes, over the 255-byte limit.
  await row("2003").locator("form.set-presence").getByLabel("Subtype").fill("é".repeat(200));
  await row("2003").locator("form.set-presence").getByRole("button", { name: "Set" }).click();
  await page.locator("#status.error", { hasText: "subtype is 400 bytes; at most 255 are allowed" }).waitFor();

  // 7. Reconfigure a phone that never contacted us: the outcome is shown.
  await page.locator('button.reconfigure[data-phone="alice-desk"]').click();
  await page.locator("#status.error", { hasText: "alice-desk: unknown contact" }).waitFor();

  await api("PUT", "/api/v1/presence/CustomPresence:2000", { state: "away", subtype: "lunch", message: "back at 2, promise" });
  await row("2000").locator(".state", { hasText: "away" }).waitFor();
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.deepEqual(failures, []);
  console.log("dashboard browser test: all checks passed");
} finally {
  await browser.close();
}
