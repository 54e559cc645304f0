// support.js - what the browser tests share: the server and database the
// runner started (scripts/run-browser.sh: GB_BASE, GB_DATABASE_URL,
// GB_PLATFORM_TOKEN), chromium through puppeteer-core, the API and SQL from
// the test, polling, axe-core and the 375 px layout check, form helpers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

export async function axeCheck(page, name) {
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
