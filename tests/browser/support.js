// support.js - what the browser tests share: the server and database the
// runner started (scripts/run-browser.sh: GB_BASE, GB_DATABASE_URL,
// GB_PLATFORM_TOKEN), stopping and starting that server (GB_SERVER_CTL),
// chromium through puppeteer-core, the API and SQL from the test, polling,
// axe-core, the 375 px layout and tap-target checks, form helpers, a
// distributor with its products and campaigns, /metrics, and screenshots
// into docs/ when asked (GB_SCREENSHOTS=1, make screenshots).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BASE = process.env.GB_BASE;
export const DB = process.env.GB_DATABASE_URL;
export const PLATFORM = process.env.GB_PLATFORM_TOKEN;
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const PASSWORD = 'correct horse battery staple';
export const run = Date.now().toString(36);

export async function api(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (method === 'POST') headers['Idempotency-Key'] = `${run}-${Math.random()}`;
  const res = await fetch(BASE + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

// A session's token for who ({login, password}) at path (/v1/sessions or
// /v1/admin/sessions); a refused login fails the test here, with its body.
export async function signIn(path, who) {
  const r = await api('POST', path, { login: who.login, password: who.password });
  assert.equal(r.status, 201, `${path} for ${who.login}: ${JSON.stringify(r.body)}`);
  return r.body.token;
}

export function sql(statement) {
  return execFileSync('psql', [DB, '-v', 'ON_ERROR_STOP=1', '-Atc', statement], { encoding: 'utf8' }).trim();
}

export async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Colours are judged as they rest: a toast half faded has the contrast of
// neither end, so the check waits for running transitions (a second at
// most) before axe looks, on pages that still animate.
export async function axeCheck(page, name) {
  await page.evaluate(() => Promise.race([
    Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null))),
    new Promise((done) => setTimeout(done, 1000)),
  ]));
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `axe on ${name}`);
}

export async function noHorizontalScroll(page, name) {
  const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(w[0] <= w[1], `${name}: scrollWidth ${w[0]} > ${w[1]}`);
}

export async function setValue(page, selector, value) {
  await page.$eval(selector, (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, String(value));
}

export const text = (page, selector) => page.$eval(selector, (el) => el.textContent.trim());

// A headless chromium with a fresh profile; close() ends it and removes
// the profile.
export async function launch() {
  assert.ok(BASE && DB && PLATFORM, 'run through scripts/run-browser.sh');
  const userDir = mkdtempSync(join(tmpdir(), 'gb-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir: userDir,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(userDir, { recursive: true, force: true });
    },
  };
}

// ---- the server: stopped and started by the runner ----------------------

async function serverCtl(ask, answer) {
  const dir = process.env.GB_SERVER_CTL;
  assert.ok(dir, 'run through scripts/run-browser.sh (GB_SERVER_CTL)');
  rmSync(join(dir, answer), { force: true });
  writeFileSync(join(dir, ask), '');
  await until(() => existsSync(join(dir, answer)), 30000, `the server to be ${answer}`);
}
// SIGTERM to the server, and its exit checked by the runner.
export const stopServer = () => serverCtl('stop', 'stopped');
// The server again, on the same port and database, once it is ready.
export const startServer = () => serverCtl('start', 'started');

// ---- checks of a shopper's page ------------------------------------------

// Every control a finger may hit is at least 44 x 44 CSS pixels (a radio
// or a check box by its label).
export async function tapTargets(page, name) {
  const small = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('a[href], button, select, input:not([type=hidden]), textarea')) {
      let box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      if (el.type === 'radio' || el.type === 'checkbox') {
        const label = el.closest('label');
        if (label) box = label.getBoundingClientRect();
      }
      if (box.height < 44 || box.width < 44) {
        out.push(`${el.tagName.toLowerCase()}.${el.className || ''} "${(el.textContent || el.value || '').trim().slice(0, 20)}" ${Math.round(box.width)}x${Math.round(box.height)}`);
      }
    }
    return out;
  });
  assert.deepEqual(small, [], `${name}: tap targets under 44 px`);
}

// axe, no horizontal scroll and tap targets.
export async function pageChecks(page, name) {
  await noHorizontalScroll(page, name);
  await axeCheck(page, name);
  await tapTargets(page, name);
}

// A click as a finger would do it: the control first scrolled to the middle
// of the screen, where the cost bar fixed at the bottom of a phone does
// not cover it.
export async function tap(page, selector) {
  await page.$eval(selector, (el) => el.scrollIntoView({ block: 'center' }));
  await page.click(selector);
}

export async function focusedMatches(page, selector) {
  return page.evaluate((sel) => !!document.activeElement && document.activeElement.matches(sel), selector);
}

// A screenshot into docs/, only for make screenshots.
export async function screenshot(page, name) {
  if (process.env.GB_SCREENSHOTS !== '1') return;
  await page.screenshot({ path: join(ROOT, 'docs', `${name}.png`), fullPage: true });
}

// An unlabelled sample of /metrics.
export async function metric(name) {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

// ---- a distributor, its pickup point and campaigns ------------------------

export async function newShop(tag) {
  const owner = { login: `owner-${tag}-${run}@example.com`, password: PASSWORD };
  const d = await api('POST', '/v1/platform/distributors',
    { name: `Shop ${tag} ${run}`, commission_bp: 500, currency: 'CNY', owner }, PLATFORM);
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const token = await signIn('/v1/admin/sessions', owner);
  const point = await api('POST', '/v1/admin/pickup-points', {
    name: '幸福小区自提点', address: '幸福路 1 号 3 栋', leader_name: '王团长', leader_phone: '13900000001',
    commission_bp: 300,
  }, token);
  assert.equal(point.status, 201, JSON.stringify(point.body));
  return { owner, token, point: point.body };
}

const iso = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

// A published campaign (open unless starts_at is given): tiers 99 / 89 / 79
// at 1 / 3 / 10 people, list price 129, every shopper pays a 20 % deposit
// unless deposit_policy says otherwise.
export async function newCampaign(shop, fields = {}) {
  const p = await api('POST', '/v1/admin/products', {
    sku: `sku-${run}-${Math.random().toString(36).slice(2)}`, name: fields.productName || '有机苹果 5kg',
    description: '产地直发', list_price_cents: 12900, cost_price_cents: 5000, stock: 1000,
  }, shop.token);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const { productName, ...rest } = fields;
  const c = await api('POST', '/v1/admin/campaigns', {
    product_id: p.body.id, title: `${productName || '有机苹果'}拼团`, description: '新鲜到货',
    starts_at: iso(-60), ends_at: iso(2 * 86400), tier_basis: 'participants',
    tiers: [{ threshold: 1, unit_price_cents: 9900 }, { threshold: 3, unit_price_cents: 8900 },
      { threshold: 10, unit_price_cents: 7900 }],
    min_participants: 1, max_quantity: 100, per_customer_limit: 3,
    deposit_policy: [{ min_score: 0, deposit_percent: 20 }],
    ...rest,
  }, shop.token);
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const pub = await api('POST', `/v1/admin/campaigns/${c.body.id}/publish`, {}, shop.token);
  assert.equal(pub.status, 200, JSON.stringify(pub.body));
  return pub.body;
}

// The campaign closes now (the scheduler settles its fate within a second).
export async function closeNow(id, status = 'succeeded') {
  sql(`UPDATE campaigns SET ends_at = greatest(starts_at + interval '1 second', now() - interval '1 second')
        WHERE id = ${Number(id)}`);
  await until(async () => (await api('GET', `/v1/campaigns/${id}`)).body.status === status,
    15000, `campaign ${id} to be ${status}`);
}

// A shopper through the API: {login, token, id}.
export async function newShopper(tag) {
  const login = `buyer-${run}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const r = await api('POST', '/v1/customers', { login, password: PASSWORD, display_name: tag });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { login, token: await signIn('/v1/sessions', { login, password: PASSWORD }), id: r.body.id };
}

// A page of a new browser context (its own session storage), 375 px wide
// like a phone unless desktop.
export async function newPage(browser, desktop = false) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  if (desktop) await page.setViewport({ width: 1280, height: 900 });
  else await page.setViewport({ width: 375, height: 800, isMobile: true, hasTouch: true });
  // as a shopper who asked for less motion: a toast shows and hides at
  // once, so no check catches one half faded (see axeCheck)
  await page.emulateMediaFeatures([{ name: 'prefers-reduced-motion', value: 'reduce' }]);
  return page;
}

// Registers a new shopper in page, then lands on next.
export async function registerIn(page, tag, next = '/') {
  await page.goto(`${BASE}/#/register?next=${encodeURIComponent(next)}`);
  await page.waitForSelector('#f-login');
  // a login is an e-mail address or a phone number: ASCII, whatever the tag
  const login = `shopper-${run}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await page.type('#f-login', login);
  await page.type('#f-display_name', tag);
  await page.type('#f-password', PASSWORD);
  await page.click('form.auth button[type=submit]');
  await page.waitForFunction((n) => location.hash === `#${n}`, {}, next);
  return login;
}
