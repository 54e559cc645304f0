// admin-finance.test.js - the finance screen agrees with the CSV export and
// the API to the cent: a pickup campaign with a 团长 (leader's commission)
// settles; the operator marks the point's orders ready (备货完成), checks
// the shoppers' pickup codes and approves an after-sales refund after the
// settlement in the after-sales queue; finance's period table then shows
// the settlement at settlement with the refund as an adjustment row under
// it, every part of the split in a column, and a totals row equal to the
// CSV's column sums and to the settlement's "totals" now, reconciled (no
// red difference). A period with nothing settled says what to do next;
// the operator does not get the finance screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, until, axeCheck, setValue, launch } from './support.js';
import { tenant, settledPickupSale, staffPage, open, centsOf, menu } from './admin-support.js';

const PRICE = 9900;
const COST = 5100;
let chrome;
const s = {};

before(async () => {
  chrome = await launch();
  s.t = await tenant(750);
  s.sale = await settledPickupSale(s.t, { price: PRICE, cost: COST, leaderBp: 300, quantities: [2, 1] });
});

after(async () => {
  if (chrome) await chrome.close();
});

test('the operator prepares the pickup, checks the codes and approves a refund after settlement', async () => {
  const page = await staffPage(chrome.browser, s.t.operator);
  const { campaign, point, people } = s.sale;
  await open(page, `#/fulfilment?campaign=${campaign}`, `section.point[data-point="${point}"] button.ready`);
  await axeCheck(page, 'fulfilment');
  await page.click(`section.point[data-point="${point}"] button.ready`);
  await page.waitForSelector(`tr[data-order="${people[0].order}"] form.pickup input.code`);
  for (const who of people) {
    const code = (await api('GET', `/v1/orders/${who.order}`, undefined, who.token)).body.pickup_code;
    assert.match(code, /^\d{6}$/);
    await page.type(`tr[data-order="${who.order}"] form.pickup input.code`, code);
    await page.click(`tr[data-order="${who.order}"] form.pickup button[type=submit]`);
    await page.waitForFunction((id) => !document.querySelector(`tr[data-order="${id}"] form.pickup`), {}, who.order);
  }
  const statuses = await page.$$eval(`section.point[data-point="${point}"] tbody tr td:nth-child(4)`,
    (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(statuses, ['已自提', '已自提']);
  // the first shopper (2 units) asks for 60.00 back for one unit
  const ask = await api('POST', `/v1/orders/${people[0].order}/after-sales`,
    { reason: '有一箱坏了', quantity: 1, amount_cents: 6000 }, people[0].token);
  assert.equal(ask.status, 201, JSON.stringify(ask.body));
  s.request = ask.body.id;
  await open(page, '#/after-sales', `tr[data-request="${s.request}"] form.approve`);
  await axeCheck(page, 'after-sales');
  await setValue(page, `#as-amount-${s.request}`, '60.00');
  await setValue(page, `#as-returned-${s.request}`, 1);
  await page.click(`tr[data-request="${s.request}"] form.approve button[type=submit]`);
  await page.waitForFunction((id) => !document.querySelector(`tr[data-request="${id}"]`), {}, s.request);
  const r = await api('GET', '/v1/admin/after-sales?status=approved', undefined, s.t.operator.token);
  assert.deepEqual(r.body.items.map((a) => [a.id, a.approved_cents]), [[s.request, 6000]]);
  // the operator has no finance screen: not in the menu, and by its address
  assert.ok(!(await menu(page)).includes('#/finance'));
  await open(page, '#/finance', 'main .empty');
  assert.equal(await page.$('table.finance'), null);
  await page.browserContext().close();
});

const COLUMNS = ['gross_cents', 'forfeited_cents', 'commission_cents', 'manufacturer_cents',
  'leader_commission_cents', 'distributor_net_cents', 'received_cents', 'refunded_cents'];
const CSV = { gross_cents: 'gross', forfeited_cents: 'forfeited', commission_cents: 'commission',
  manufacturer_cents: 'manufacturer', leader_commission_cents: 'leader_commission', distributor_net_cents: 'distributor_net' };

async function rowFigures(page, selector) {
  return page.$eval(selector, (tr, cols) => Object.fromEntries(cols.map((k) => [k, tr.querySelector(`.c-${k}`).textContent])),
    COLUMNS).then((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, centsOf(v)])));
}

test('finance: the screen, the CSV and the API agree to the cent after the refund', async () => {
  const { campaign } = s.sale;
  const api1 = (await api('GET', `/v1/admin/settlements/${campaign}`, undefined, s.t.finance.token)).body;
  assert.equal(api1.adjustments.length, 1);
  const now = api1.totals;
  const then = api1.settled_totals;
  assert.equal(now.refunded_cents, 6000);
  assert.ok(now.leader_commission_cents > 0 && now.leader_commission_cents < then.leader_commission_cents);

  const page = await staffPage(chrome.browser, s.t.finance);
  const ctx = page.browserContext();
  const dir = mkdtempSync(join(tmpdir(), 'gb-fin-'));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir, browserContextId: ctx.id });
  await page.waitForSelector('table.finance tfoot .totals');
  await axeCheck(page, 'finance period');
  // a column for every part of the split, 团长佣金 among them
  const heads = await page.$$eval('table.finance thead th', (ths) => ths.map((th) => th.textContent));
  assert.ok(heads.includes('团长佣金'), JSON.stringify(heads));
  // the settlement at settlement, then its adjustment right under it
  const kinds = await page.$$eval(`table.finance tbody tr[data-campaign="${campaign}"]`, (trs) => trs.map((tr) => tr.className));
  assert.deepEqual(kinds, ['settlement', 'adjustment']);
  const settledRow = await rowFigures(page, `tr.settlement[data-campaign="${campaign}"]`);
  for (const k of COLUMNS) assert.equal(settledRow[k], then[k], `settled ${k}`);
  const adjRow = await rowFigures(page, `tr.adjustment[data-campaign="${campaign}"]`);
  assert.equal(adjRow.refunded_cents, 6000);
  assert.equal(adjRow.gross_cents, -6000);
  // the totals row = the API's totals now, every column to the cent
  const screen = await rowFigures(page, 'table.finance tfoot tr.totals');
  for (const k of COLUMNS) assert.equal(screen[k], now[k], `screen total ${k} vs API totals`);
  // reconciled everywhere: no red difference, a ✓ on the totals
  assert.equal(await page.$('table.finance .bad'), null);
  assert.ok(await page.$('table.finance tfoot .totals .ok'));
  // the CSV (BOM ticked by default) has the same sums
  assert.equal(await page.$eval('#bom', (el) => el.checked), true);
  await page.click('button.download');
  const file = await until(() => readdirSync(dir).find((f) => f.endsWith('.csv')), 10000, 'the CSV download');
  const raw = readFileSync(join(dir, file), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  assert.ok(raw.startsWith('\ufeff'));
  const [head, ...rows] = raw.slice(1).trim().split(/\r?\n/).map((r) => r.split(','));
  const col = (name) => { const i = head.indexOf(name); assert.ok(i >= 0, `CSV column ${name}`); return i; };
  const ours = rows.filter((r) => Number(r[col('campaign_id')]) === campaign);
  assert.deepEqual(ours.map((r) => r[col('status')]).sort(), ['adjustment', 'paid', 'paid']);
  const sum = (name) => ours.reduce((x, r) => x + Math.round(Number(r[col(name)]) * 100), 0);
  for (const [k, name] of Object.entries(CSV)) assert.equal(sum(name), screen[k], `CSV ${name} vs screen`);
  // the settlement's own page: at settlement, now, and reconciled now
  await page.click(`tr.settlement[data-campaign="${campaign}"] th a`);
  await page.waitForSelector('.recon-now');
  assert.ok(await page.$('.recon-now .ok'));
  const detailNow = await page.$eval('table.finance tfoot tr.totals .c-leader_commission_cents', (td) => td.textContent);
  assert.equal(centsOf(detailNow), now.leader_commission_cents);
  await axeCheck(page, 'settlement');
  // a period with nothing: says so and what to do
  await open(page, '#/finance?from=2020-01-01&to=2020-01-31', 'main .empty');
  assert.equal(await page.$('table.finance'), null);
  assert.ok(await page.$('button.download'));
  await ctx.close();
});

test('a red difference shows only when there is one', async () => {
  // the screen's own arithmetic, on a settlement whose figures do not add up
  const page = await staffPage(chrome.browser, s.t.finance);
  await page.waitForSelector('table.finance');
  const out = await page.evaluate(async () => {
    const f = await import('/admin/finance.js');
    const ok = { received_cents: 100, refunded_cents: 0, commission_cents: 10, manufacturer_cents: 50,
      leader_commission_cents: 3, distributor_net_cents: 37 };
    const off = { ...ok, distributor_net_cents: 36 };
    return [f.difference(ok), f.difference(off), f.reconciliation(off).className, f.reconciliation(off).textContent];
  });
  assert.deepEqual(out.slice(0, 3), [0, 1, 'bad']);
  assert.match(out[3], /¥0\.01/);
  await page.browserContext().close();
});
