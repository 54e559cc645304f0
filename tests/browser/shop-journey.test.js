// shop-journey.test.js - the shopper's whole journey on a pickup campaign,
// on a 375 px phone: the cost before committing in the bar at the bottom
// (list price, group price, total, the deposit with its reason), the
// pickup point chosen (an error next to the point list when it is not,
// in Chinese), the join with the focus on its result, the deposit paid in
// the sandbox, the campaign closing, the balance paid; staff mark the
// point's orders ready through the API; the pickup code on the order,
// large and as a QR code with the point's name and address; staff check
// that code through the API; the order is 已完成; an after-sales request
// with its status, pending then approved. Each page: axe (no serious or
// critical violation), no horizontal scroll, tap targets of 44 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, api, until, launch, text, newShop, newCampaign, closeNow, newPage, registerIn, pageChecks,
  focusedMatches, tap, screenshot,
} from './support.js';

let chrome;
const s = {};

before(async () => {
  chrome = await launch();
  s.shop = await newShop('journey');
  // two points, so that the shopper has to choose (the only point of a
  // campaign is chosen for them)
  const second = await api('POST', '/v1/admin/pickup-points', {
    name: '阳光花园自提点', address: '阳光路 8 号', leader_name: '李团长', leader_phone: '13900000002',
    commission_bp: 300,
  }, s.shop.token);
  assert.equal(second.status, 201, JSON.stringify(second.body));
  s.c = await newCampaign(s.shop, { fulfilment: 'pickup', pickup_point_ids: [s.shop.point.id, second.body.id] });
});

after(async () => {
  if (chrome) await chrome.close();
});

// The order centre's tab, read afresh (a page already there is reloaded).
async function orders(page, tab) {
  const there = await page.evaluate((t) => location.hash === `#/orders?tab=${t}`, tab);
  if (there) await page.reload();
  else await page.evaluate((t) => { location.hash = `#/orders?tab=${t}`; }, tab);
  await page.waitForFunction((t) => document.querySelector(`.tabs a[data-tab=${t}][aria-current=page]`)
    && (document.querySelector('.mine') || document.querySelector('.empty')), {}, tab);
}

test('a pickup join: the cost first, the point, the deposit', async () => {
  const page = await newPage(chrome.browser);
  s.page = page;
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`console: ${m.text()}\n`); });
  await registerIn(page, '买家甲', `/c/${s.c.id}`);
  await page.waitForSelector('.join-form .costbar');
  await pageChecks(page, 'campaign page with the join form');
  // the cost before committing: alone, the group price, total, deposit and why
  await page.waitForFunction(() => /信用分 \d+：需付 20% 定金 ¥19\.80/.test(document.querySelector('.costbar .deposit').textContent));
  assert.match(await text(page, '.costbar .compare'), /单独购买 ¥129\.00.*拼团价 ¥99\.00/);
  assert.equal(await text(page, '.costbar .total'), '¥99.00 × 1 = 合计 ¥99.00');
  assert.match(await text(page, '.costbar .balance'), /成团后付尾款 ¥79\.20/);
  // the bar stays in sight at the bottom of the phone's screen
  const bar = await page.$eval('.costbar', (el) => [getComputedStyle(el).position, el.getBoundingClientRect().bottom]);
  assert.deepEqual(bar, ['fixed', 800]);
  // two units: the bar follows
  await tap(page, '.stepper button[aria-label="增加"]');
  await page.waitForFunction(() => document.querySelector('.costbar .total').textContent === '¥99.00 × 2 = 合计 ¥198.00');
  assert.match(await text(page, '.costbar .deposit'), /¥39\.60/);
  // no point chosen: said next to the point list, in Chinese, focus there
  await tap(page, '.join-form button[type=submit]');
  await page.waitForSelector('[data-field=pickup_point_id] .field-error');
  assert.equal(await text(page, '[data-field=pickup_point_id] .field-error'), '请先选择自提点');
  assert.ok(await focusedMatches(page, '[data-field=pickup_point_id] input, [data-field=pickup_point_id] .field-error'));
  assert.match(await text(page, '.point'), /幸福小区自提点.*幸福路 1 号 3 栋.*团长：王团长/s);
  await screenshot(page, 'shop-join');
  await tap(page, '.point');
  await tap(page, '.join-form button[type=submit]');
  await page.waitForSelector('.joined .pay');
  assert.ok(await focusedMatches(page, '.joined h2'), 'the focus is on the result of the join');
  assert.match(await text(page, '.joined .reason'), /信用分 \d+：需付 20% 定金（¥39\.60）/);
  await pageChecks(page, 'joined');
  await tap(page, '.joined .pay');
  await page.waitForSelector('.checkout .confirm');
  await pageChecks(page, 'checkout');
  await tap(page, '.checkout .confirm');
  await page.waitForFunction(() => location.hash === '#/orders?tab=group');
  await page.waitForFunction(() => document.querySelector('.mine-item .status')?.textContent === '已参团');
  assert.ok(await focusedMatches(page, '.result'), 'the focus is on the payment outcome');
  // 应付 is not ¥0.00 while a balance will be due: it is said
  assert.match(await text(page, '.mine-item dl'), /已付定金¥39\.60成团后尾款（约）¥158\.40/);
  await pageChecks(page, 'order centre');
});

test('the campaign closes; the balance is paid; staff mark it ready', async () => {
  const { page } = s;
  await closeNow(s.c.id);
  await page.evaluate(() => { location.hash = '#/orders'; });
  // the tab where something is due comes first
  await page.waitForSelector('.tabs a[data-tab=pay][aria-current=page]');
  await page.waitForSelector('.mine-item .pay');
  assert.match(await text(page, '.mine-item dl'), /应付尾款¥158\.40/);
  await tap(page, '.mine-item .pay');
  await page.waitForSelector('.checkout .confirm');
  await tap(page, '.checkout .confirm');
  await page.waitForFunction(() => location.hash === '#/orders?tab=receive');
  await page.waitForFunction(() => document.querySelector('.mine-item .order-status')?.textContent === '待到货');
  assert.equal(await text(page, '.mine-item .status'), '已付款');
  const r = await api('POST', `/v1/admin/campaigns/${s.c.id}/orders/ready`, { pickup_point_id: s.shop.point.id }, s.shop.token);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.updated, 1);
});

test('the pickup code is on the order, large and as a QR code, with the point', async () => {
  const { page } = s;
  await orders(page, 'receive');
  await page.waitForSelector('.pickup-code .code', { timeout: 10000 })
    .catch(async () => assert.fail(`no pickup code: ${await text(page, 'main')}`));
  await page.waitForSelector('.pickup-code .qr-box svg path', { timeout: 10000 })
    .catch(async () => assert.fail(`no QR code: ${await text(page, '.pickup-code')}`));
  s.code = await text(page, '.pickup-code .code');
  assert.match(s.code, /^\d{6}$/);
  const size = await page.$eval('.pickup-code .code', (el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(size >= 32, `the code is large (${size}px)`);
  assert.match(await text(page, '.pickup-code'), /幸福小区自提点.*幸福路 1 号 3 栋/s);
  const qr = await page.$eval('.qr-box svg', (el) => [el.getAttribute('aria-label'), el.getBoundingClientRect().width]);
  assert.equal(qr[0], `取货码 ${s.code} 的二维码`);
  assert.ok(qr[1] >= 150, 'the QR code can be scanned from the screen');
  assert.equal(await text(page, '.mine-item .order-status'), '待自提');
  await pageChecks(page, 'the pickup code');
  await screenshot(page, 'shop-pickup-code');
  // staff check the code the shopper shows
  const o = (await api('GET', '/v1/admin/orders?campaign_id=' + s.c.id, undefined, s.shop.token)).body.items[0];
  const wrong = await api('POST', `/v1/admin/orders/${o.id}/pickup`, { pickup_code: s.code === '000000' ? '000001' : '000000' }, s.shop.token);
  assert.equal(wrong.status, 409);
  const ok = await api('POST', `/v1/admin/orders/${o.id}/pickup`, { pickup_code: s.code }, s.shop.token);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  s.orderId = o.id;
});

test('已完成, then an after-sales request and its status', async () => {
  const { page } = s;
  await orders(page, 'done');
  await page.waitForSelector('.mine-item .ask-after-sales');
  assert.equal(await text(page, '.mine-item .order-status'), '已自提');
  await tap(page, '.mine-item .ask-after-sales');
  await page.waitForSelector('.after-sales-form');
  assert.ok(await focusedMatches(page, '.after-sales-form textarea'));
  // no reason: said next to the reason, in Chinese
  await tap(page, '.after-sales-form button[type=submit]');
  await page.waitForSelector('[data-field=reason] .field-error');
  assert.equal(await text(page, '[data-field=reason] .field-error'), '请填写售后原因');
  // more than was paid: next to the amount
  await page.type('.after-sales-form textarea', '有两个苹果碰伤了');
  await page.$eval('.after-sales-form input[name=amount]', (el) => { el.value = '500.00'; });
  await tap(page, '.after-sales-form button[type=submit]');
  await page.waitForSelector('[data-field=amount_cents] .field-error');
  assert.match(await text(page, '[data-field=amount_cents] .field-error'), /¥198\.00/);
  await page.$eval('.after-sales-form input[name=amount]', (el) => { el.value = '12.50'; });
  await page.$eval('.after-sales-form input[name=quantity]', (el) => { el.value = '0'; });
  await pageChecks(page, 'after-sales form');
  await tap(page, '.after-sales-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('.mine-item .result')?.textContent === '售后申请已提交，等待处理。');
  assert.ok(await focusedMatches(page, '.mine-item .result'));
  assert.match(await text(page, '.after-sales'), /处理中 申请退款 ¥12\.50/);
  await orders(page, 'aftersales');
  assert.match(await text(page, '.mine-item .after-sales'), /处理中/);
  // staff approve it; the shopper sees it
  const list = await api('GET', '/v1/admin/after-sales?status=pending', undefined, s.shop.token);
  const req = list.body.items.find((a) => a.order_id === s.orderId);
  const ok = await api('POST', `/v1/admin/after-sales/${req.id}/approve`, { amount_cents: 1250, returned_quantity: 0 }, s.shop.token);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  await page.reload();
  await page.waitForSelector('.mine-item .after-sales');
  await until(async () => /已同意 退款 ¥12\.50/.test(await text(page, '.mine-item .after-sales')), 5000, 'the approval');
  await pageChecks(page, 'after-sales tab');
  await screenshot(page, 'shop-after-sales');
  assert.ok(BASE);
});
