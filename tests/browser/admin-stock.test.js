// admin-stock.test.js - a product's stock in the back office (issue 28):
// the stock screen's four buckets as the server counts them, the stock
// editor against its version (below what campaigns hold: refused next to
// the field; figures that moved meanwhile: refused, the new figures shown,
// then saved), finance kept out; the campaign editor's tier cost (the
// margin of that tier from it, the ladder saved with it) and a live
// campaign's cap that grows only into the available stock. axe on each
// screen, and the stock screen at 375 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { run, api, axeCheck, noHorizontalScroll, setValue, text, until, launch } from './support.js';
import { tenant, staffPage, open, menu } from './admin-support.js';

let chrome;
const s = {};
const iso = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
// on a whole minute, as the editor's datetime inputs show it
const minute = (ms) => new Date(Math.ceil((Date.now() + ms) / 60000) * 60000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function product(sku, stock) {
  const p = await api('POST', '/v1/admin/products', {
    sku: `${sku}-${run}`, name: `${sku} 龙井 250g`, description: '', list_price_cents: 9900,
    cost_price_cents: 6000, stock,
  }, s.t.owner.token);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  return p.body;
}

async function liveCampaign(productId, maxQuantity, title) {
  const tok = s.t.owner.token;
  const c = await api('POST', '/v1/admin/campaigns', {
    product_id: productId, title, description: '', starts_at: iso(-60000), ends_at: minute(86400000),
    tier_basis: 'participants', tiers: [{ threshold: 1, unit_price_cents: 9900 }], min_participants: 1,
    max_quantity: maxQuantity, per_customer_limit: 5, deposit_policy: [{ min_score: 0, deposit_percent: 0 }],
    min_score: 0, deposit_window_seconds: 900, payment_window_seconds: 86400,
  }, tok);
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const p = await api('POST', `/v1/admin/campaigns/${c.body.id}/publish`, {}, tok);
  assert.equal(p.status, 200, JSON.stringify(p.body));
  return p.body;
}

const getProduct = async (id) => (await api('GET', `/v1/admin/products/${id}`, undefined, s.t.owner.token)).body;
const bucketsOnPage = (page) => page.$$eval('#stock-buckets dd[data-bucket]',
  (dds) => Object.fromEntries(dds.map((d) => [d.dataset.bucket, Number(d.querySelector('strong').textContent)])));

before(async () => {
  chrome = await launch();
  s.t = await tenant(500);
  s.tea = await product('TEA', 100);
  s.teaCampaign = await liveCampaign(s.tea.id, 60, `春茶团-${run}`);
});

after(async () => {
  if (chrome) await chrome.close();
});

test('the stock screen shows the four buckets; the editor sets stock against its version', async () => {
  const page = await staffPage(chrome.browser, s.t.operator);
  assert.ok((await menu(page)).includes('#/stock'));
  await open(page, '#/stock', `tr[data-product="${s.tea.id}"]`);
  const row = await page.$$eval(`tr[data-product="${s.tea.id}"] td.num`, (tds) => tds.map((td) => Number(td.textContent)));
  assert.deepEqual(row, [100, 60, 0, 40, 0], 'stock, reserved, committed, available, sold');
  await axeCheck(page, 'stock list');

  await page.click(`tr[data-product="${s.tea.id}"] a`);
  await page.waitForSelector('#stock-edit #f-stock');
  assert.deepEqual(await bucketsOnPage(page), { stock: 100, reserved: 60, committed: 0, available: 40, sold: 0 });
  assert.equal(await page.$eval('#f-stock', (i) => i.value), '100');
  await axeCheck(page, 'stock editor');

  // below what the campaign holds: refused next to the field, nothing changes
  await setValue(page, '#f-stock', 59);
  await page.click('#stock-edit button[type=submit]');
  await page.waitForSelector('#stock-edit [data-field=stock] .field-error');
  assert.match(await text(page, '#stock-edit [data-field=stock] .field-error'), /60/);
  assert.equal((await getProduct(s.tea.id)).stock, 100);

  // saved: the figures follow
  await setValue(page, '#f-stock', 150);
  await page.click('#stock-edit button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#stock-buckets dd[data-bucket=available] strong')?.textContent === '90');
  assert.equal(await page.$('#stock-edit .field-error'), null);
  let p = await getProduct(s.tea.id);
  assert.deepEqual([p.stock, p.available, p.stock_version], [150, 90, 2]);

  // someone else moves the stock meanwhile: the edit made on the old
  // figures is refused, the new ones are shown, and a second save holds
  const other = await api('PUT', `/v1/admin/products/${s.tea.id}/stock`, { stock: 200, stock_version: 2 }, s.t.owner.token);
  assert.equal(other.status, 200, JSON.stringify(other.body));
  await setValue(page, '#f-stock', 160);
  await page.click('#stock-edit button[type=submit]');
  await page.waitForSelector('#stock-edit [data-field=stock] .field-error');
  assert.match(await text(page, '#stock-edit [data-field=stock] .field-error'), /200/);
  assert.equal((await bucketsOnPage(page)).stock, 200);
  assert.equal((await getProduct(s.tea.id)).stock, 200);
  await page.click('#stock-edit button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#stock-buckets dd[data-bucket=stock] strong')?.textContent === '160');
  p = await getProduct(s.tea.id);
  assert.deepEqual([p.stock, p.stock_version], [160, 4]);

  await page.setViewport({ width: 375, height: 800 });
  await noHorizontalScroll(page, 'stock editor at 375 px');
  await open(page, '#/stock', `tr[data-product="${s.tea.id}"]`);
  await noHorizontalScroll(page, 'stock list at 375 px');
  await page.browserContext().close();
});

test('finance reads settlements, not stock', async () => {
  const page = await staffPage(chrome.browser, s.t.finance);
  assert.ok(!(await menu(page)).includes('#/stock'));
  await open(page, '#/stock', 'main .empty');
  assert.equal(await page.$('#stock-edit'), null);
  await page.browserContext().close();
});

test('the editor takes a tier cost and shows the margin of that tier from it', async () => {
  const rice = await product('RICE', 500);
  const page = await staffPage(chrome.browser, s.t.owner);
  await open(page, '#/campaigns/new', '[data-field=tiers] tbody tr');
  await page.select('#f-product_id', String(rice.id));
  await setValue(page, '#f-title', `大米团-${run}`);
  const rows = '[data-field=tiers] tbody tr';
  // the default ladder: 99.00 from 1, 89.00 from 10; the product's cost 60.00
  await setValue(page, `${rows}:nth-child(2) input[data-key=cost_price_cents]`, '52.00');
  const margins = await page.$$eval(`${rows} td.extra`, (tds) => tds.map((td) => td.textContent));
  assert.match(margins[0], /¥39\.00/, 'row 1: 99.00 against the product’s 60.00');
  assert.match(margins[1], /¥37\.00/, 'row 2: 89.00 against its own 52.00');
  await axeCheck(page, 'editor with a tier cost');
  await page.click('form.editor button[type=submit]');
  const saved = await until(async () => {
    const r = await api('GET', '/v1/admin/campaigns', undefined, s.t.owner.token);
    return r.body.items.find((c) => c.title === `大米团-${run}`);
  }, 10000, 'the campaign saved');
  assert.deepEqual(saved.tiers, [{ threshold: 1, unit_price_cents: 9900 },
    { threshold: 10, unit_price_cents: 8900, cost_price_cents: 5200 }]);
  await page.browserContext().close();
});

test('the cap of a live campaign grows only into the available stock', async () => {
  const oil = await product('OIL', 100);
  const c = await liveCampaign(oil.id, 50, `菜籽油团-${run}`);
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, `#/campaigns/${c.id}/edit`, '#f-max_quantity');
  assert.equal(await page.$eval('#f-max_quantity', (i) => i.disabled), false);
  assert.equal(await page.$eval('#f-min_participants', (i) => i.disabled), true);
  assert.match(await text(page, '#product-info'), /50/, 'the available stock is shown');
  await setValue(page, '#f-max_quantity', 101);
  await page.click('form.editor button[type=submit]');
  await page.waitForSelector('[data-field=max_quantity] .field-error');
  assert.equal((await getProduct(oil.id)).reserved, 50);
  await setValue(page, '#f-max_quantity', 80);
  await page.click('form.editor button[type=submit]');
  await until(async () => (await getProduct(oil.id)).reserved === 80, 10000, 'the larger cap reserved');
  const after = (await api('GET', `/v1/admin/campaigns/${c.id}`, undefined, s.t.owner.token)).body;
  assert.equal(after.max_quantity, 80);
  await page.browserContext().close();
});
