// Browser tests of the Redress pages: Debian's chromium, headless, driven by
// playwright-core, against a local pipeline started by run.sh (BASE_URL).
//
//   node tests/browser/pages.test.mjs      (via tests/browser/run.sh)
//
// Prints one line per test and a summary: `browser: N passed, M failed, K skipped`.
// Screenshots of every page go to artifacts/screenshots/.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdirSync, existsSync } from "node:fs";
import path from "node:path";

const ROOT = process.env.REDRESS_ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const BASE = process.env.BASE_URL;
if (!BASE) throw new Error("BASE_URL is not set (run tests/browser/run.sh)");
const require = createRequire(path.join(ROOT, ".local/npm/package.json"));
const { chromium } = require("playwright-core");
const SHOTS = path.join(ROOT, "artifacts/screenshots");
mkdirSync(SHOTS, { recursive: true });
const REDRESS = path.join(ROOT, "target/debug/redress");

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// ------------------------------------------------------------------ tiny runner
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
class Skip extends Error {}
const skip = (reason) => { throw new Skip(reason); };
function assert(cond, message) { if (!cond) throw new Error("assertion failed: " + message); }
function eq(a, b, message) { if (a !== b) throw new Error(`${message}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A demo user's access token, signed in through the local Cognito pool (run.sh creates
// the demo staff of demo/users.toml; REDRESS_PREFIX names the pool).
const token = (...args) => execFileSync(REDRESS, ["token", ...args, "--demo-users", path.join(ROOT, "demo/users.toml")], { encoding: "utf8" }).trim();

// ------------------------------------------------------------ shared state
const state = { dialogs: [], offsite: [], requests: [] };
let browser;

async function newPage(viewport = { width: 1200, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: "en-US" });
  // Nothing may leave 127.0.0.1: record and block anything else.
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    state.requests.push(url.href);
    if (url.hostname !== "127.0.0.1" && url.protocol !== "data:" && url.protocol !== "blob:") {
      state.offsite.push(url.href);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on("dialog", async (d) => { state.dialogs.push(d.message()); await d.dismiss(); });
  page.on("pageerror", (e) => state.dialogs.push("pageerror: " + e.message));
  return page;
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
}

// Fills and sends the complaint form; returns the page after submit.
async function fileComplaint(page, { lang, category, product, text, phone, email, name, consent = "yes" }) {
  await page.goto(`${BASE}/complain?lang=${lang}`);
  if (category) await page.check(`input[name=category][value=${category}]`);
  if (product) await page.selectOption("#product", product);
  await page.fill("#text", text);
  if (name) await page.fill("#name", name);
  if (phone !== undefined) await page.fill("#phone", phone);
  if (email) await page.fill("#email", email);
  await page.check(`input[name=consent][value=${consent}]`);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

async function readReceipt(page) {
  const reference = (await page.textContent("#reference")).trim();
  const secret = (await page.textContent("#status-secret")).trim();
  assert(/^RD-\d{6}-[0-9A-Z]{8}$/.test(reference), "a reference is shown: " + reference);
  assert(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/.test(secret), "a status secret is shown: " + secret);
  return { reference, secret };
}

// Looks the complaint up on the status page until intake has routed it.
async function findStatus(page, { reference, secret, lang }, wantTeam = true) {
  for (let i = 0; i < 40; i++) {
    await page.goto(`${BASE}/status?reference=${reference}&lang=${lang}`);
    eq(await page.inputValue("#reference"), reference, "the status form is prefilled with the reference");
    await page.fill("#secret", secret);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    if (!wantTeam || (await page.$("#team"))) return page;
    await sleep(500);
  }
  throw new Error("the complaint was never routed to a team");
}

async function signIn(page, url, tok) {
  await page.goto(url);
  await page.fill("#token", tok);
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#workspace:not([hidden])");
}


// What the notifier delivered for a ticket, read as an operator would: `redress outbox
// --bodies` lists the delivery records of the tickets table with each message's text
// from moto's record of what SES/SNS sent. Returns the text of the `template`
// (`acknowledgement.zh`, `survey_invitation.en` …) delivery of `reference`, polling
// until the notifier has sent it.
async function delivered(reference, template) {
  const table = `${process.env.REDRESS_PREFIX}-TicketsTable`;
  for (let i = 0; i < 60; i++) {
    let out = "";
    // moto's /moto-api/data.json can fail while moto is busy: try again.
    try { out = execFileSync(REDRESS, ["outbox", "--days", "1", "--bodies", "--table", table], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }); } catch (e) { await sleep(500); continue; }
    const lines = out.split("\n");
    for (let j = 0; j < lines.length; j++) {
      const cols = lines[j].split(/\s+/);
      if (lines[j].startsWith("    |") || !cols.includes(reference) || !cols.includes(template)) continue;
      eq(cols[2], "sent", `the ${template} of ${reference} was sent`);
      const body = [];
      for (let k = j + 1; k < lines.length && lines[k].startsWith("    |"); k++) body.push(lines[k].replace(/^    \| ?/, ""));
      return { channel: cols[3], to: lines[j].slice(lines[j].indexOf(reference) + reference.length).trim(), text: body.join("\n") };
    }
    await sleep(500);
  }
  throw new Error(`no ${template} delivery for ${reference} in redress outbox`);
}
// The one link to this pipeline in a message.
function linkIn(text) {
  const links = text.match(/https?:\/\/[^\s"<>）)，。]+/g) || [];
  const ours = links.filter((l) => l.startsWith(BASE));
  eq(ours.length, 1, "one link to the pipeline in: " + text);
  return ours[0];
}

// -------------------------------------------------------------------- the tests
const filed = {};

test("the form page is under 50 KB transferred and fetches nothing off 127.0.0.1", async () => {
  const page = await newPage();
  let bytes = 0;
  const hosts = new Set();
  page.on("requestfinished", async (req) => {
    const s = await req.sizes();
    bytes += s.responseBodySize + s.responseHeadersSize;
    hosts.add(new URL(req.url()).host);
  });
  await page.goto(`${BASE}/complain?lang=zh`, { waitUntil: "networkidle" });
  await shot(page, "01-complain-zh");
  state.formBytes = bytes;
  assert(bytes > 1000 && bytes < 50 * 1024, `form page transferred ${bytes} bytes`);
  eq([...hosts].join(","), new URL(BASE).host, "every request went to the local pipeline");
  eq(await page.getAttribute("html", "lang"), "zh-CN", "the page is Chinese");
  const categories = await page.$$eval("input[name=category]", (els) => els.length);
  assert(categories >= 10, "the category chooser lists the configured categories");
  assert((await page.textContent("#text-count")).includes("/ 5000"), "the text limit counter is shown");
  await page.close();
});

test("a borrower files a complaint in Chinese and finds its status", async () => {
  const page = await newPage();
  await fileComplaint(page, {
    lang: "zh", category: "collection_conduct", product: "personal_loan", name: "张伟",
    text: "催收员每天打电话骚扰我的家人，还在晚上十一点打电话。", phone: "13812345678",
  });
  await shot(page, "02-received-zh");
  const receipt = await readReceipt(page);
  filed.zh = { ...receipt, lang: "zh" };
  await findStatus(page, filed.zh);
  await shot(page, "03-status-zh");
  assert((await page.textContent("#team")).length > 0, "the handling team is named");
  assert((await page.textContent("main")).includes("答复期限"), "the deadlines are shown in Chinese");
  await page.close();
});

test("a bad phone number gets a field error, the answers are kept, and the fixed form is accepted", async () => {
  const page = await newPage({ width: 390, height: 844 });
  const text = "You charged me a hidden service fee of 300 yuan on my personal loan without telling me.";
  await fileComplaint(page, { lang: "en", category: "fees_interest", product: "personal_loan", text, phone: "12345", name: "Li Lei" });
  eq(await page.isVisible("#err-phone"), true, "the phone error is shown next to the field");
  assert((await page.textContent("#err-phone")).toLowerCase().includes("phone"), "the error names the phone");
  eq(await page.getAttribute("#phone", "aria-invalid"), "true", "the field is marked invalid");
  eq(await page.inputValue("#text"), text, "the complaint text is kept");
  eq(await page.inputValue("#phone"), "12345", "the phone as typed is kept");
  eq(await page.isChecked("input[name=category][value=fees_interest]"), true, "the category is kept");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(width <= 390, "the form fits a phone screen (scrollWidth " + width + ")");
  await shot(page, "04-field-errors-en-phone");
  await page.fill("#phone", "13900001111");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await shot(page, "05-received-en-phone");
  filed.en = { ...(await readReceipt(page)), lang: "en", text };
  await page.click("#status-link");
  await page.fill("#secret", filed.en.secret);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  eq((await page.textContent("#reference")).trim(), filed.en.reference, "the status page shows the reference");
  await page.close();
});

test("the form works without JavaScript and refuses a post without its CSRF token", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${BASE}/complain?lang=en`);
  await page.check("input[name=category][value=service_quality]");
  await page.selectOption("#product", "credit_line");
  await page.fill("#text", "The app logged me out every time I tried to repay, for three days.");
  await page.fill("#email", "borrower@example.com");
  await page.check("input[name=consent][value=no]");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await readReceipt(page);
  // A cross-site style post: no cookie, no token.
  const res = await fetch(`${BASE}/complain`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "lang=en&text=forged+complaint+text&product=personal_loan&phone=13812345678&consent=yes",
  });
  eq(res.status, 403, "a post without the CSRF token is refused");
  const home = await fetch(`${BASE}/`);
  const csp = home.headers.get("content-security-policy") || "";
  assert(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"), "the CSP allows only self: " + csp);
  eq(home.headers.get("x-content-type-options"), "nosniff", "nosniff is set");
  assert((home.headers.get("strict-transport-security") || "").includes("max-age="), "HSTS is set");
  const form = await fetch(`${BASE}/complain`);
  const cookie = form.headers.get("set-cookie") || "";
  assert(/HttpOnly/i.test(cookie) && /SameSite=Strict/i.test(cookie), "the CSRF cookie is HttpOnly and SameSite: " + cookie);
  await context.close();
});

test("a complaint whose text is <script>alert(1)</script> shows as text everywhere", async () => {
  const page = await newPage();
  const evil = "<script>alert(1)</script>";
  await fileComplaint(page, { lang: "en", category: "fees_interest", product: "personal_loan", text: evil, phone: "13700001111", name: "<img src=x onerror=alert(2)>" });
  filed.xss = { ...(await readReceipt(page)), lang: "en" };
  await findStatus(page, filed.xss);
  eq((await page.textContent("#complaint-text")).trim(), evil, "the status page shows the script as text");
  await shot(page, "06-status-xss");
  const tok = token("--user", "demo-billing");
  await signIn(page, `${BASE}/console?lang=en`, tok);
  await page.waitForSelector(`tr[data-reference="${filed.xss.reference}"]`);
  await shot(page, "07-queue-xss");
  await page.click(`a[data-ticket="${filed.xss.reference}"]`);
  await page.waitForSelector("#ticket-text");
  eq((await page.textContent("#ticket-text")).trim(), evil, "the console shows the script as text");
  await shot(page, "08-ticket-xss");
  await sleep(300);
  eq(state.dialogs.length, 0, "no dialog fired: " + state.dialogs.join(" | "));
  await page.close();
});

test("a team member sees the complaint in the queue, acknowledges and resolves it", async () => {
  assert(filed.en, "the English complaint was filed");
  const page = await newPage();
  await signIn(page, `${BASE}/console?lang=en`, token("--user", "demo-billing"));
  const row = `tr[data-reference="${filed.en.reference}"]`;
  for (let i = 0; i < 20 && !(await page.$(row)); i++) { await sleep(500); await page.click("#filters button[type=submit]"); await sleep(300); }
  await page.waitForSelector(row);
  assert(await page.$(`${row} [data-deadline]`), "the queue row has a countdown");
  await shot(page, "09-queue");
  await page.click(`a[data-ticket="${filed.en.reference}"]`);
  await page.waitForSelector("#ticket-text");
  eq((await page.textContent("#ticket-text")).trim(), filed.en.text, "the ticket shows the complaint text");
  await shot(page, "10-ticket");
  const step = async (action, fill) => {
    await page.waitForSelector(`form[data-action=${action}]`);
    if (fill) await fill(page.locator(`form[data-action=${action}]`));
    await page.click(`form[data-action=${action}] button[type=submit]`);
    await page.waitForFunction((a) => (document.querySelector("#console-message")?.textContent || "").includes(a), action);
  };
  await step("acknowledge");
  // The console offers exactly what the lifecycle allows: Start analysis, not Resolve.
  await page.waitForSelector("#ticket-status.status-acknowledged");
  assert(await page.$("form[data-action=start_analysis]"), "an acknowledged ticket offers Start analysis");
  assert(!(await page.$("form[data-action=resolve]")), "an acknowledged ticket offers no Resolve");
  assert(!(await page.$("form[data-action=acknowledge]")), "an acknowledged ticket offers no second Acknowledge");
  await shot(page, "10b-acknowledged-actions");
  // A stale action (version 1 again) from another session: the API answers 409, the page says so.
  const stale = await page.evaluate(async (ref) => {
    const r = await fetch(`/tickets/${ref}/actions`, { method: "POST", headers: { Authorization: "Bearer " + sessionStorage.getItem("redress.token"), "content-type": "application/json" }, body: JSON.stringify({ action: "acknowledge", expected_version: 1 }) });
    return r.status;
  }, filed.en.reference);
  eq(stale, 409, "a stale version gets 409");
  // The page itself, acting on an out-of-date view: change the ticket behind its back.
  await page.evaluate(async (ref) => {
    const t = await (await fetch(`/tickets/${ref}`, { headers: { Authorization: "Bearer " + sessionStorage.getItem("redress.token") } })).json();
    await fetch(`/tickets/${ref}/actions`, { method: "POST", headers: { Authorization: "Bearer " + sessionStorage.getItem("redress.token"), "content-type": "application/json" }, body: JSON.stringify({ action: "add_note", text: "called the borrower", expected_version: t.version }) });
  }, filed.en.reference);
  await page.click("form[data-action=start_analysis] button[type=submit]");
  await page.waitForSelector("#console-message.error");
  assert((await page.textContent("#console-message")).toLowerCase().includes("conflict"), "the conflict is shown clearly");
  await shot(page, "11-conflict");
  await step("start_analysis");
  await step("resolve", async (f) => {
    await f.locator("select[name=code]").selectOption("upheld");
    await f.locator("textarea[name=summary]").fill("We refund the 300 yuan fee in full.");
  });
  eq((await page.getAttribute("#ticket-status", "class")).includes("status-resolved"), true, "the ticket is resolved");
  const history = await page.$$eval(".history li", (els) => els.map((e) => e.textContent));
  assert(history.some((h) => h.includes("acknowledge")) && history.some((h) => h.includes("resolve")), "the history lists the actions");
  await shot(page, "12-resolved");
  // The borrower now sees the answer.
  await findStatus(page, filed.en);
  assert((await page.textContent("#resolution")).includes("refund"), "the borrower sees the answer");
  await shot(page, "13-status-resolved");
  await page.close();
});

test("a member of another team cannot read the ticket", async () => {
  const page = await newPage();
  await signIn(page, `${BASE}/console?lang=en&ticket=${filed.en.reference}`, token("--user", "demo-care"));
  await page.waitForSelector("[data-error]");
  eq(await page.getAttribute("[data-error]", "data-error"), "ticket_not_found", "another team's ticket answers as a missing one (404)");
  await page.close();
});

test("the borrower answers the survey", async () => {
  assert(filed.en, "the English complaint was resolved");
  // The English complaint left a phone only: the invitation went by SMS.
  const sms = await delivered(filed.en.reference, "survey_invitation.en");
  eq(sms.channel, "sms", "a borrower with only a phone gets an SMS");
  const surveyPath = new URL(linkIn(sms.text)).pathname + new URL(linkIn(sms.text)).search;
  const page = await newPage();
  assert(surveyPath.includes("lang=en"), "the invitation links the survey in English: " + surveyPath);
  await page.goto(`${BASE}${surveyPath}`);
  await shot(page, "15-survey");
  await page.check("input[name=csat][value='5']");
  await page.check("input[name=nps][value='9']");
  await page.check("input[name=solved][value=yes]");
  await page.fill("#comment", "Quick and fair. <b>thanks</b>");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await shot(page, "16-survey-thanks");
  assert((await page.textContent("main")).includes("recorded"), "the answer is recorded");
  await page.close();
});

test("the manager's dashboard shows the change", async () => {
  const page = await newPage();
  await signIn(page, `${BASE}/dashboard?lang=en`, token("--user", "demo-manager"));
  await page.waitForSelector("#report > *");
  if (await page.$("[data-error]")) throw new Error("dashboard error: " + (await page.textContent("#report")));
  for (const id of ["#chart-trend svg", "#chart-on-time svg", "#chart-volume svg", "#totals"]) {
    assert(await page.$(id), "the dashboard shows " + id);
  }
  const received = await page.textContent("#totals tr[data-figure=received]");
  assert(/\+\d/.test(received), "the received count changed against the previous period: " + received);
  await shot(page, "14-dashboard");
  // The team member may not read reports.
  const member = await newPage();
  await signIn(member, `${BASE}/dashboard?lang=en`, token("--user", "demo-billing"));
  await member.waitForSelector("[data-error]");
  eq(await member.getAttribute("[data-error]", "data-error"), "forbidden", "a team member gets 403");
  await member.close();
  await page.close();
});

// ------------------------------------------------------------ staff sign-in (issue 9)
async function signInWithPassword(page, user, password, lang = "en") {
  await page.goto(`${BASE}/signin?lang=${lang}`);
  await page.fill("#username", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

test("a wrong password gets the one generic message", async () => {
  const page = await newPage();
  await page.goto(`${BASE}/signin?lang=en`);
  await shot(page, "20-signin");
  await signInWithPassword(page, "demo-billing", "Not-The-Password-1");
  eq((await page.textContent(".alert")).trim(), "The user name or password is not right.", "wrong password");
  await shot(page, "21-signin-wrong-password");
  await signInWithPassword(page, "nobody-at-all", "Not-The-Password-1");
  eq((await page.textContent(".alert")).trim(), "The user name or password is not right.", "unknown user, same words");
  assert(new URL(page.url()).pathname === "/signin", "still on the sign-in page");
  await page.close();
});

test("a team member signs in with a password and lands on the console", async () => {
  const page = await newPage();
  await signInWithPassword(page, "demo-billing", "Billing-Demo-2026");
  eq(new URL(page.url()).pathname, "/console", "a team member lands on the console");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "redress_session");
  assert(session && session.httpOnly && session.sameSite === "Strict", "an HttpOnly, SameSite=Strict session cookie");
  assert(!(await page.evaluate(() => document.cookie)).includes("redress_session"), "scripts cannot read the session");
  // The console runs on the cookie session: who, and the team's queue.
  await page.waitForSelector("#workspace:not([hidden])");
  assert((await page.textContent("#who")).includes("demo-billing"), "the console names the user");
  await page.waitForSelector("#queue tr[data-reference]");
  await shot(page, "22-signed-in-console");
  // Sign-out ends the session: back on the sign-in page, and the queue is refused.
  await Promise.all([page.waitForNavigation(), page.click("#signout")]);
  eq(new URL(page.url()).pathname, "/signin", "signed out to the sign-in page");
  await shot(page, "25-signed-out");
  const after = await page.evaluate(() => fetch("/console/queue").then((r) => r.status));
  eq(after, 401, "the queue after sign-out");
  await page.close();
});

test("a manager signs in with a password and lands on the dashboard", async () => {
  const page = await newPage();
  await signInWithPassword(page, "demo-manager", "Manager-Demo-2026", "zh");
  eq(new URL(page.url()).pathname, "/dashboard", "a manager lands on the dashboard");
  await page.waitForSelector("#report > *");
  if (await page.$("[data-error]")) throw new Error("dashboard error: " + (await page.textContent("#report")));
  await shot(page, "23-signed-in-dashboard");
  await page.close();
});

test("a user with an authenticator is asked for the one-time code", async () => {
  const page = await newPage();
  await signInWithPassword(page, "demo-hardship", "Hardship-Demo-2026");
  assert(await page.$("form[data-step=mfa_code]"), "the one-time code is asked for");
  await shot(page, "24-signin-one-time-code");
  await page.fill("#code", "123456");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  eq(new URL(page.url()).pathname, "/console", "signed in after the code");
  await page.close();
});


// ------------------------------------------------- the whole journey (issue 9, item 4)
// Everything goes through the real delivery path: the notifier sends by SES/SNS on moto,
// and the borrower's links are read from what was sent (`redress outbox --bodies`).
async function answersOnDashboard(page) {
  await page.selectOption("#report-filters select[name=report]", "satisfaction");
  // Drop the shown report, so what is read next is the fresh one.
  await page.evaluate(() => document.querySelector("#totals")?.remove());
  await page.click("#report-filters button[type=submit]");
  await page.waitForSelector("#totals tr[data-figure=answers]");
  const cell = await page.textContent("#totals tr[data-figure=answers] td.num");
  return parseInt(cell.replace(/[^0-9]/g, "") || "0", 10);
}

test("the whole journey: filed in Chinese, e-mailed, worked after a password sign-in, answered, seen on the dashboard", async () => {
  // A manager signs in with a password and notes how many survey answers there are.
  const manager = await newPage();
  await signInWithPassword(manager, "demo-manager", "Manager-Demo-2026");
  eq(new URL(manager.url()).pathname, "/dashboard", "the manager lands on the dashboard");
  await manager.waitForSelector("#report > *");
  // Earlier tests' survey answers may still be on their way: read until the count is still.
  let answersBefore = await answersOnDashboard(manager);
  for (let i = 0; i < 20; i++) {
    await sleep(1000);
    const again = await answersOnDashboard(manager);
    if (again === answersBefore) break;
    answersBefore = again;
  }

  // 1. A borrower files in Chinese, with an e-mail address and consent to contact.
  const borrower = await newPage();
  const text = "贷款合同里没有写明的服务费三百元被直接从我的账户扣走了，请退还这笔费用。";
  await fileComplaint(borrower, { lang: "zh", category: "fees_interest", product: "personal_loan", name: "王芳", text, email: "wangfang@example.com" });
  const receipt = await readReceipt(borrower);
  await shot(borrower, "30-journey-received-zh");

  // 2. The acknowledgement e-mail arrives, in Chinese, with the status link.
  const ack = await delivered(receipt.reference, "acknowledgement.zh");
  eq(ack.channel, "email", "the acknowledgement goes by e-mail");
  assert(ack.to.includes("@example.com") && !ack.to.includes("wangfang"), "the outbox masks the address: " + ack.to);
  assert(ack.text.includes(`我们已收到您的投诉 ${receipt.reference}`), "a Chinese subject with the reference: " + ack.text);
  await borrower.goto(linkIn(ack.text));
  eq(await borrower.inputValue("#reference"), receipt.reference, "the e-mail's link fills in the reference");
  await borrower.fill("#secret", receipt.secret);
  await Promise.all([borrower.waitForNavigation(), borrower.click("button[type=submit]")]);
  await borrower.waitForSelector("#team");
  await shot(borrower, "31-journey-status-from-email-zh");

  // 3. A billing team member signs in with a password from the console's sign-in panel.
  const member = await newPage();
  await member.goto(`${BASE}/console?lang=en`);
  await Promise.all([member.waitForNavigation(), member.click("#password-signin")]);
  eq(new URL(member.url()).pathname, "/signin", "the console sends to the sign-in page");
  await member.fill("#username", "demo-billing");
  await member.fill("#password", "Billing-Demo-2026");
  await shot(member, "32-journey-signin");
  await Promise.all([member.waitForNavigation(), member.click("button[type=submit]")]);
  eq(new URL(member.url()).pathname, "/console", "back on the console, signed in");
  await member.waitForSelector("#workspace:not([hidden])");
  const row = `tr[data-reference="${receipt.reference}"]`;
  for (let i = 0; i < 20 && !(await member.$(row)); i++) { await sleep(500); await member.click("#filters button[type=submit]"); await sleep(300); }
  await member.waitForSelector(row);
  await member.click(`a[data-ticket="${receipt.reference}"]`);
  await member.waitForSelector("#ticket-text");
  eq((await member.textContent("#ticket-text")).trim(), text, "the ticket shows the complaint");
  const step = async (action, fill) => {
    await member.waitForSelector(`form[data-action=${action}]`);
    if (fill) await fill(member.locator(`form[data-action=${action}]`));
    await member.click(`form[data-action=${action}] button[type=submit]`);
    await member.waitForFunction((a) => (document.querySelector("#console-message")?.textContent || "").includes(a), action);
  };
  await step("acknowledge");
  await member.waitForSelector("#ticket-status.status-acknowledged");
  await step("start_analysis");
  await member.waitForSelector("#ticket-status.status-under_analysis");
  await step("resolve", async (f) => {
    await f.locator("select[name=code]").selectOption("upheld");
    await f.locator("textarea[name=summary]").fill("经核查，该服务费未在合同中披露，我们已全额退还 300 元。");
  });
  await member.waitForSelector("#ticket-status.status-resolved");
  await shot(member, "33-journey-resolved");
  const events = await member.$$eval(".history li", (els) => els.map((e) => e.textContent));
  assert(events.some((e) => e.includes("demo-billing")), "the history names who acted: " + events.join(" | "));

  // 4. A member of another team is refused the ticket; a wrong password is refused.
  const other = await newPage();
  await signInWithPassword(other, "demo-care", "Customer-Demo-2026");
  await other.goto(`${BASE}/console?lang=en&ticket=${receipt.reference}`);
  await other.waitForSelector("[data-error]");
  eq(await other.getAttribute("[data-error]", "data-error"), "ticket_not_found", "another team's member gets 404, as for a missing ticket");
  await shot(other, "34-journey-other-team-refused");
  const action = await other.evaluate(async (ref) => {
    const who = await (await fetch("/signin/session")).json();
    const r = await fetch(`/console/tickets/${ref}/actions`, { method: "POST", headers: { "x-csrf-token": who.csrf_token, "content-type": "application/json" }, body: JSON.stringify({ action: "add_note", text: "not my team", expected_version: 1 }) });
    return r.status;
  }, receipt.reference);
  eq(action, 404, "another team's member cannot act on the ticket either (404)");
  const wrong = await newPage();
  await signInWithPassword(wrong, "demo-billing", "Billing-Demo-2025");
  eq((await wrong.textContent(".alert")).trim(), "The user name or password is not right.", "a wrong password gets the generic message");
  eq(new URL(wrong.url()).pathname, "/signin", "and no session");
  assert(!(await wrong.context().cookies()).some((c) => c.name === "redress_session"), "no session cookie");
  await shot(wrong, "35-journey-wrong-password");

  // 5. The borrower receives the resolution and the survey link, opens it and answers.
  const resolution = await delivered(receipt.reference, "resolution.zh");
  assert(resolution.text.includes("全额退还 300 元"), "the resolution e-mail carries the summary: " + resolution.text);
  const invitation = await delivered(receipt.reference, "survey_invitation.zh");
  eq(invitation.channel, "email", "the survey invitation goes by e-mail");
  await borrower.goto(linkIn(invitation.text));
  eq(await borrower.getAttribute("html", "lang"), "zh-CN", "the survey opens in Chinese");
  await shot(borrower, "36-journey-survey-zh");
  await borrower.check("input[name=csat][value='4']");
  await borrower.check("input[name=nps][value='8']");
  await borrower.check("input[name=solved][value=yes]");
  await borrower.fill("#comment", "处理得很快，谢谢。");
  await Promise.all([borrower.waitForNavigation(), borrower.click("button[type=submit]")]);
  assert((await borrower.textContent("main")).includes("您的回答已记录"), "the answer is recorded");
  await shot(borrower, "37-journey-survey-thanks-zh");

  // 6. The manager sees the answer on the dashboard.
  let answersAfter = answersBefore;
  for (let i = 0; i < 30 && answersAfter <= answersBefore; i++) {
    await sleep(500);
    answersAfter = await answersOnDashboard(manager);
  }
  eq(answersAfter, answersBefore + 1, "the dashboard counts the borrower's answer");
  await shot(manager, "38-journey-dashboard-answer");
  for (const p of [manager, borrower, member, other, wrong]) await p.close();
});

// ------------------------------------------------------------------------ main
async function main() {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: FLAGS });
  let passed = 0, failed = 0, skipped = 0;
  for (const t of tests) {
    const started = Date.now();
    try {
      await t.fn();
      passed++;
      console.log(`  ok    ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      if (e instanceof Skip) { skipped++; console.log(`  skip  ${t.name}: ${e.message}`); continue; }
      failed++;
      console.log(`  FAIL  ${t.name}\n        ${String(e.stack || e).split("\n").slice(0, 4).join("\n        ")}`);
    }
  }
  await browser.close();
  if (state.offsite.length) { failed++; console.log("  FAIL  requests left 127.0.0.1: " + state.offsite.join(", ")); }
  if (state.formBytes) console.log(`  form page: ${state.formBytes} bytes transferred`);
  console.log(`browser: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed ? 1 : 0);
}
main().catch((e) => { console.error(e); console.log("browser: 0 passed, 1 failed"); process.exit(1); });
