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
  eq(await page.getAttribute("[data-error]", "data-error"), "forbidden", "403 from the server is shown");
  await page.close();
});

test("the borrower answers the survey", async () => {
  assert(filed.en, "the English complaint was resolved");
  let surveyPath;
  try {
    surveyPath = execFileSync(path.join(ROOT, ".local/venv/bin/python3"), [path.join(ROOT, "tests/browser/invitation.py"), process.env.REDRESS_PREFIX, filed.en.reference], { encoding: "utf8" }).trim();
  } catch (e) { throw new Error("no survey invitation on the notifications queue: " + e.message); }
  const page = await newPage();
  await page.goto(`${BASE}${surveyPath}&lang=en`);
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
