// admin-screens.test.js - every back-office screen's main path, as the
// role that uses it, and the roles that must not: staff management
// (owner), pickup points and their 团长, products (edit, margin, pages,
// search), the fulfilment workbench (ship with carrier and tracking
// number, the pickup list CSV), customers by display name and masked
// login, a campaign's audience with its reasons, invitations and their
// report, webhooks (the secret shown once, the delivery log, a retry), a
// settled campaign's outcome (never a forecast), the editor (margin per
// tier, a row error named from 1, a preview that covers no input). axe on
// each screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PASSWORD, run, api, sql, until, axeCheck, setValue, text, launch } from './support.js';
import { tenant, settledPickupSale, staffPage, open, menu } from './admin-support.js';

let chrome;
const s = {};

before(async () => {
  chrome = await launch();
  s.t = await tenant(500);
  s.pickup = await settledPickupSale(s.t, { price: 5900, cost: 3000, leaderBp: 200, quantities: [1, 2],
    names: [`林小满-${run}`, `周大福-${run}`] });
  s.delivery = await settledPickupSale(s.t, { price: 5900, cost: 3000, quantities: [1], delivery: true,
    names: [`陈快递-${run}`] });
});

after(async () => {
  if (chrome) await chrome.close();
});

const bodyText = (page) => page.$eval('main', (m) => m.innerText);

// A campaign of the pickup sale's product, open at once (published).
async function openCampaign(title) {
  const tok = s.t.owner.token;
  const start = new Date(Date.now() - 60000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const end = new Date(Date.now() + 86400000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const c = await api('POST', '/v1/admin/campaigns', {
    product_id: s.pickup.product, title, description: '', starts_at: start, ends_at: end,
    tier_basis: 'participants', tiers: [{ threshold: 1, unit_price_cents: 5900 }], min_participants: 1,
    max_quantity: 100, per_customer_limit: 5, deposit_policy: [{ min_score: 0, deposit_percent: 0 }], min_score: 0,
    deposit_window_seconds: 900, payment_window_seconds: 86400, fulfilment: 'pickup', pickup_point_ids: [s.pickup.point],
  }, tok);
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const p = await api('POST', `/v1/admin/campaigns/${c.body.id}/publish`, {}, tok);
  assert.equal(p.status, 200, JSON.stringify(p.body));
  return p.body;
}

test('the owner manages staff; operator and finance get neither staff nor webhooks', async () => {
  const page = await staffPage(chrome.browser, s.t.owner);
  const owner = await menu(page);
  for (const href of ['#/staff', '#/webhooks', '#/finance', '#/fulfilment', '#/products']) {
    assert.ok(owner.includes(href), `owner menu has ${href}: ${owner}`);
  }
  await open(page, '#/staff', '#new-staff');
  await axeCheck(page, 'staff');
  const login = `op2-${run}@example.com`;
  await page.type('#new-staff #f-login', login);
  await page.type('#new-staff #f-password', PASSWORD);
  await page.select('#new-staff #f-role', 'operator');
  await page.click('#new-staff button[type=submit]');
  await page.waitForFunction((l) => document.querySelector('main table')?.innerText.includes(l), {}, login);
  const r = await api('GET', '/v1/admin/staff', undefined, s.t.owner.token);
  assert.deepEqual(r.body.items.filter((x) => x.login === login).map((x) => x.role), ['operator']);
  await page.browserContext().close();

  const op = await staffPage(chrome.browser, { login, password: PASSWORD });
  const opMenu = await menu(op);
  for (const href of ['#/staff', '#/webhooks', '#/finance']) assert.ok(!opMenu.includes(href), `operator menu: ${opMenu}`);
  assert.ok(opMenu.includes('#/fulfilment'));
  await open(op, '#/staff', 'main .empty');
  assert.equal(await text(op, 'main h1'), '无权访问此页面');
  await open(op, '#/webhooks', 'main .empty');
  assert.equal(await op.$('#new-webhook'), null);
  await op.browserContext().close();

  const fin = await staffPage(chrome.browser, s.t.finance);
  const finMenu = await menu(fin);
  for (const href of ['#/staff', '#/webhooks', '#/fulfilment', '#/products', '#/pickup-points', '#/customers']) {
    assert.ok(!finMenu.includes(href), `finance menu: ${finMenu}`);
  }
  assert.ok(finMenu.includes('#/finance') && finMenu.includes('#/after-sales'));
  await open(fin, '#/fulfilment', 'main .empty');
  assert.equal(await text(fin, 'main h1'), '无权访问此页面');
  await fin.browserContext().close();
});

test('the operator adds a pickup point with its 团长 and edits it', async () => {
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, '#/pickup-points', '#new-point');
  await axeCheck(page, 'pickup points');
  await page.type('#new-point #f-name', `阳光花园-${run}`);
  await page.type('#new-point #f-address', '阳光路 8 号');
  await page.type('#new-point #f-leader_name', '李团长');
  await page.type('#new-point #f-leader_phone', '13700000003');
  await setValue(page, '#new-point #f-commission_bp', '3.5');
  await page.click('#new-point button[type=submit]');
  await page.waitForFunction((n) => document.querySelector('main table')?.innerText.includes(n), {}, `阳光花园-${run}`);
  const points = (await api('GET', '/v1/admin/pickup-points', undefined, s.t.operator.token)).body.items;
  const made = points.find((p) => p.name === `阳光花园-${run}`);
  assert.equal(made.commission_bp, 350);
  assert.equal(made.leader_name, '李团长');
  await page.click(`main a[href="#/pickup-points/${made.id}"]`);
  await page.waitForSelector('form.editor #f-leader_name');
  await axeCheck(page, 'pickup point');
  await setValue(page, 'form.editor #f-leader_name', '赵团长');
  await page.click('form.editor button[type=submit]');
  await page.waitForSelector('#new-point');
  const after1 = (await api('GET', `/v1/admin/pickup-points/${made.id}`, undefined, s.t.operator.token)).body;
  assert.equal(after1.leader_name, '赵团长');
  assert.equal(after1.commission_bp, 350);
  await page.browserContext().close();
});

test('products: pages, search, and an edit of name and cost with the margin', async () => {
  for (let i = 0; i < 26; i++) {
    const r = await api('POST', '/v1/admin/products', {
      sku: `page-${run}-${i}`, name: `分页商品 ${i}`, description: '', list_price_cents: 1000, cost_price_cents: 500, stock: 10,
    }, s.t.owner.token);
    assert.equal(r.status, 201);
  }
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, '#/products', '.pager');
  await axeCheck(page, 'products');
  assert.match(await text(page, '.pager span'), /^第 1\/2 页，共 28 条$/);
  assert.equal(await page.$$eval('main table tbody tr', (trs) => trs.length), 25);
  await page.click('.pager .next');
  await page.waitForFunction(() => document.querySelector('.pager span').textContent.startsWith('第 2/2 页'));
  assert.equal(await page.$$eval('main table tbody tr', (trs) => trs.length), 3);
  await page.type('#q-products', `page-${run}-17`);
  await page.waitForFunction(() => document.querySelectorAll('main table tbody tr').length === 1);
  assert.match(await text(page, 'main table tbody tr'), /分页商品 17/);
  // 50 % margin; the edit makes the cost 8.00: 20 %
  assert.match(await text(page, 'main table tbody tr td:nth-child(5)'), /^50(\.0)?%$/);
  await page.click('main table tbody tr a');
  await page.waitForSelector('form.product-edit');
  await axeCheck(page, 'product edit');
  await setValue(page, 'form.product-edit #f-name', `改名商品 ${run}`);
  await setValue(page, 'form.product-edit #f-cost_price_cents', '8.00');
  await page.click('form.product-edit button[type=submit]');
  await page.waitForSelector('#new-product');
  const p = (await api('GET', '/v1/admin/products?limit=200', undefined, s.t.operator.token)).body.items
    .find((x) => x.sku === `page-${run}-17`);
  assert.equal(p.name, `改名商品 ${run}`);
  assert.equal(p.cost_price_cents, 800);
  assert.equal(p.list_price_cents, 1000);
  await page.type('#q-products', `page-${run}-17`);
  await page.waitForFunction(() => document.querySelectorAll('main table tbody tr').length === 1);
  assert.match(await text(page, 'main table tbody tr td:nth-child(5)'), /^20(\.0)?%$/);
  await page.browserContext().close();
});

test('fulfilment: ship with carrier and tracking number; the pickup list CSV', async () => {
  const page = await staffPage(chrome.browser, s.t.operator);
  const dir = mkdtempSync(join(tmpdir(), 'gb-pick-'));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir, browserContextId: page.browserContext().id });
  const [who] = s.delivery.people;
  await open(page, `#/fulfilment?campaign=${s.delivery.campaign}`, `tr[data-order="${who.order}"] form.ship`);
  await axeCheck(page, 'fulfilment delivery');
  assert.match(await text(page, `tr[data-order="${who.order}"]`), /世纪大道 100 号/);
  await page.type(`tr[data-order="${who.order}"] input.carrier`, '顺丰');
  await page.type(`tr[data-order="${who.order}"] input.tracking`, 'SF1234567890');
  await page.click(`tr[data-order="${who.order}"] form.ship button[type=submit]`);
  await page.waitForSelector(`tr[data-order="${who.order}"] button.deliver`);
  assert.match(await text(page, `tr[data-order="${who.order}"]`), /已发货/);
  const o = (await api('GET', `/v1/orders/${who.order}`, undefined, who.token)).body;
  assert.deepEqual([o.status, o.carrier, o.tracking_no], ['shipped', '顺丰', 'SF1234567890']);
  await page.click(`tr[data-order="${who.order}"] button.deliver`);
  await page.waitForFunction((id) => !document.querySelector(`tr[data-order="${id}"] button.deliver`), {}, who.order);
  assert.equal((await api('GET', `/v1/orders/${who.order}`, undefined, who.token)).body.status, 'delivered');
  // the pickup campaign: the leader's list for the point
  await open(page, `#/fulfilment?campaign=${s.pickup.campaign}`, `section.point[data-point="${s.pickup.point}"] button.pickup-list`);
  await page.click(`section.point[data-point="${s.pickup.point}"] button.pickup-list`);
  const file = await until(() => readdirSync(dir).find((f) => f.endsWith('.csv')), 10000, 'the pickup list');
  const rows = readFileSync(join(dir, file), 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(rows.length, 3, rows.join('\n'));
  assert.ok(rows.some((r) => r.includes(`林小满-${run}`)));
  await page.browserContext().close();
});

test('customers by display name and masked login, searched', async () => {
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, `#/customers?q=${encodeURIComponent(`林小满-${run}`)}`, 'main table tbody tr');
  await axeCheck(page, 'customers');
  const rows = await page.$$eval('main table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.equal(rows.length, 1);
  const [who] = s.pickup.people;
  assert.equal(rows[0][1], `林小满-${run}`);
  assert.equal(rows[0][2], `${who.login[0]}***@example.com`);
  assert.ok(!(await bodyText(page)).includes(who.login));
  await page.click('main table tbody tr a');
  await page.waitForSelector('#vip');
  await axeCheck(page, 'customer');
  assert.match(await bodyText(page), new RegExp(s.pickup.settlement.campaign_title || '已结算'));
  // a name nobody has: says so, and how to see everyone
  await open(page, '#/customers?q=nobody-at-all', 'main .empty a[href="#/customers"]');
  await page.browserContext().close();
});

test('audience: reasons, invitations and the report', async () => {
  const c = { body: await openCampaign(`回头客团-${run}`) };
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, `#/campaigns/${c.body.id}/audience`, 'button.invite');
  await axeCheck(page, 'audience');
  const reasons = Object.fromEntries(await page.$$eval('main tbody tr', (trs) => trs.map((tr) =>
    [tr.querySelector('input[name=customer]').value, tr.querySelector('td.reason').textContent])));
  // everyone who bought here, those who bought this product first, with the reason
  assert.deepEqual(Object.keys(reasons).map(Number).sort(),
    [...s.pickup.people, ...s.delivery.people].map((p) => p.id).sort());
  for (const p of s.pickup.people) assert.match(reasons[p.id], /^买过同款；履约可能性 \d+%；在本店完成 1 次$/);
  assert.doesNotMatch(reasons[s.delivery.people[0].id], /买过同款/);
  const shown = await page.$$eval('main tbody input[name=customer]', (xs) => xs.map((x) => Number(x.value)));
  assert.deepEqual(shown.slice(0, 2).sort(), s.pickup.people.map((p) => p.id).sort(), 'who bought this product first');
  assert.equal(await text(page, 'dd.invited'), '0');
  await page.click('#aud-all');
  await page.click('button.invite');
  const n = Object.keys(reasons).length;
  await page.waitForFunction((k) => document.querySelector('dd.invited')?.textContent === String(k), {}, n);
  const rep = (await api('GET', `/v1/admin/reports/invitations?campaign_id=${c.body.id}`, undefined, s.t.owner.token)).body;
  assert.equal(rep.invited, n);
  await page.browserContext().close();
});

test('webhooks: the secret shown once, the delivery log, a retry of a failed delivery', async () => {
  let answer = 500;
  const got = [];
  const target = createServer((req, res) => {
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => { got.push(b); res.writeHead(answer); res.end(); });
  });
  await new Promise((r) => target.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${target.address().port}/hook`;
  try {
    const page = await staffPage(chrome.browser, s.t.owner);
    await open(page, '#/webhooks', '#new-webhook');
    await axeCheck(page, 'webhooks');
    await page.type('#new-webhook #f-url', url);
    await page.type('#new-webhook #f-description', '订单同步');
    await page.click('#new-webhook button[type=submit]');
    await page.waitForSelector('.secret .secret-value');
    const secret = await text(page, '.secret .secret-value');
    assert.ok(secret.length >= 16, secret);
    const hooks = (await api('GET', '/v1/admin/webhooks', undefined, s.t.owner.token)).body.items;
    const hook = hooks.find((w) => w.url === url);
    assert.ok(hook && !JSON.stringify(hooks).includes(secret), 'the secret is never listed');
    // shown once: the screen again does not have it
    await page.reload();
    await page.waitForSelector('#new-webhook');
    assert.ok(!(await page.content()).includes(secret));
    // events to deliver (a campaign published); the endpoint answers 500
    await openCampaign(`新品团-${run}`);
    await until(() => Number(sql(`SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ${Number(hook.id)} AND attempts >= 1`)),
      15000, 'a first failed attempt');
    // a day has passed since: the next failure ends the retry window
    sql(`UPDATE webhook_deliveries SET window_start = now() - interval '2 days', next_attempt_at = now()
          WHERE endpoint_id = ${Number(hook.id)}`);
    await until(() => Number(sql(`SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ${Number(hook.id)} AND status = 'failed'`)),
      15000, 'the delivery to fail');
    await open(page, `#/webhooks/${hook.id}`, 'tr[data-delivery] button.retry');
    await axeCheck(page, 'webhook');
    const failed = await page.$eval('tr[data-delivery] button.retry', (b) => b.closest('tr').dataset.delivery);
    assert.match(await text(page, `tr[data-delivery="${failed}"]`), /投递失败/);
    assert.match(await text(page, `tr[data-delivery="${failed}"]`), /HTTP 500/);
    answer = 200;
    const before1 = got.length;
    await page.click(`tr[data-delivery="${failed}"] button.retry`);
    await until(() => sql(`SELECT status FROM webhook_deliveries WHERE id = ${Number(failed)}`) === 'delivered',
      15000, 'the retried delivery');
    assert.ok(got.length > before1);
    await page.select('#dl-status', 'delivered');
    await page.waitForFunction(() => document.querySelector('tr[data-delivery]')?.textContent.includes('已投递'));
    await page.browserContext().close();
  } finally {
    target.close();
  }
});

test('a settled campaign shows its outcome, never a forecast', async () => {
  const page = await staffPage(chrome.browser, s.t.owner);
  await open(page, `#/campaigns/${s.pickup.campaign}`, '.outcome');
  await axeCheck(page, 'settled campaign');
  assert.match(await text(page, '.outcome'), /^已成团：2 人参团，成交价 ¥59\.00$/);
  assert.equal(await page.$('.forecast'), null);
  assert.ok(!(await bodyText(page)).includes('概率'));
  await page.browserContext().close();
});

test('the editor: margin per tier against the cost, a row error named from 1 next to its row', async () => {
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, '#/campaigns/new', '#f-title');
  await axeCheck(page, 'editor');
  await page.select('#f-product_id', String(s.pickup.product)); // list 69.00, cost 30.00
  await page.type('#f-title', `错误示范-${run}`);
  const row = (n) => `[data-field=tiers] tbody tr:nth-child(${n})`;
  await setValue(page, `${row(1)} input[data-key=unit_price_cents]`, '59.00');
  await setValue(page, `${row(2)} input[data-key=unit_price_cents]`, '25.00');
  assert.match(await text(page, row(1)), /¥29\.00（49%）/);
  assert.match(await text(page, row(2)), /亏 ¥5\.00（-20%）/);
  // the preview covers no input of the form, at a desktop width and a narrow one
  for (const width of [1280, 800]) {
    await page.setViewport({ width, height: 900 });
    const overlaps = await page.evaluate(() => {
      const p = document.querySelector('.preview').getBoundingClientRect();
      if (p.width === 0) return ['no preview'];
      return [...document.querySelectorAll('form.editor input, form.editor select, form.editor textarea, form.editor button')]
        .filter((el) => !el.closest('.preview'))
        .filter((el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.left < p.right && p.left < r.right && r.top < p.bottom && p.top < r.bottom;
        }).map((el) => el.id || el.name || el.outerHTML.slice(0, 60));
    });
    assert.deepEqual(overlaps, [], `preview overlaps at ${width}px`);
  }
  // a price that rises: the server names tiers[1], the screen row 2
  await setValue(page, `${row(2)} input[data-key=unit_price_cents]`, '65.00');
  await page.click('form.editor button[type=submit]');
  await page.waitForSelector('[data-field=tiers] .field-error');
  assert.equal(await text(page, '[data-field=tiers] .field-error'), '第 2 行：单价必须逐档降低');
  assert.equal(await page.$eval(`${row(2)} input[data-key=unit_price_cents]`, (i) => i.getAttribute('aria-invalid')), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.key), 'unit_price_cents');
  await page.browserContext().close();
});
