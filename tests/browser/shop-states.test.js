// shop-states.test.js - what the shopper meets on a campaign page, shown
// rather than discovered through a refused join: a delivery join that asks
// for the address (said next to the address when it is missing) and sends
// it (desktop); a sold-out campaign; a campaign already joined, with the
// participation, its next action and withdrawing while open (375 px); and
// a session that expires mid-flow: the join goes to the login page, then
// back to the campaign with the half-filled form, and joins. Each page:
// axe (no serious or critical violation), no horizontal scroll, tap
// targets of 44 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, PASSWORD, api, sql, until, launch, text, newShop, newCampaign, newShopper, newPage, registerIn,
  pageChecks, focusedMatches, tap, screenshot,
} from './support.js';

let chrome;
const s = {};

before(async () => {
  chrome = await launch();
  s.shop = await newShop('states');
});

after(async () => {
  if (chrome) await chrome.close();
});

async function loginIn(page, login, next) {
  await page.goto(`${BASE}/#/login?next=${encodeURIComponent(next)}`);
  await page.waitForSelector('#f-login');
  await page.type('#f-login', login);
  await page.type('#f-password', PASSWORD);
  await tap(page, 'form.auth button[type=submit]');
  await page.waitForFunction((n) => location.hash === `#${n}`, {}, next);
}

test('a delivery join asks for the address and sends it (desktop)', async () => {
  const c = await newCampaign(s.shop, { fulfilment: 'delivery' });
  const page = await newPage(chrome.browser, true);
  await registerIn(page, '买家乙', `/c/${c.id}`);
  await page.waitForSelector('.join-form #addr-line');
  await pageChecks(page, 'delivery join form');
  // nothing given and not "later": said next to the address, in Chinese
  await tap(page, '.join-form button[type=submit]');
  await page.waitForSelector('[data-field=address] .field-error');
  assert.equal(await text(page, '[data-field=address] .field-error'), '请填写完整的收货地址，或选择稍后填写');
  assert.ok(await focusedMatches(page, '#addr-name'), 'the focus is on the first empty address field');
  await page.type('#addr-name', '李四');
  await page.type('#addr-phone', '13800000002');
  await page.type('#addr-region', '浙江省杭州市西湖区');
  await page.type('#addr-line', '文三路 90 号 2 单元 301');
  await tap(page, '.join-form button[type=submit]');
  await page.waitForSelector('.joined .pay');
  assert.ok(await focusedMatches(page, '.joined h2'), 'the focus is on the result of the join');
  const address = JSON.parse(sql(`SELECT address FROM participations WHERE campaign_id = ${Number(c.id)}`));
  assert.deepEqual(address, { name: '李四', phone: '13800000002', region: '浙江省杭州市西湖区', line: '文三路 90 号 2 单元 301' });
  await pageChecks(page, 'delivery joined');
});

test('sold out and already joined are shown; withdraw while open (375 px)', async () => {
  const c = await newCampaign(s.shop, { max_quantity: 2, per_customer_limit: 2 });
  const buyer = await newShopper('先到者');
  const j = await api('POST', `/v1/campaigns/${c.id}/participations`, { quantity: 2 }, buyer.token);
  assert.equal(j.status, 201, JSON.stringify(j.body));

  // another shopper: sold out, with no join button to press
  const other = await newPage(chrome.browser);
  await registerIn(other, '后到者', `/c/${c.id}`);
  await other.waitForSelector('.state-soldout h2');
  assert.equal(await text(other, '.state-soldout h2'), '已售罄');
  assert.equal(await other.$('.join-form'), null, 'no join form on a sold-out campaign');
  await pageChecks(other, 'sold out');
  await screenshot(other, 'shop-soldout');
  // and the list says it on the card
  await other.evaluate(() => { location.hash = '#/'; });
  await other.waitForSelector(`.card[data-campaign="${c.id}"] .soldout`);
  assert.equal(await text(other, `.card[data-campaign="${c.id}"] .soldout`), '已售罄');

  // the shopper who joined: the participation and what is due, not a form
  const page = await newPage(chrome.browser);
  await loginIn(page, buyer.login, `/c/${c.id}`);
  await page.waitForSelector('.joined .pay');
  assert.match(await text(page, '.joined .my-line'), /2/);
  assert.match(await text(page, '.joined .pay'), /¥39\.60/);
  assert.equal(await page.$('.join-form'), null, 'no second join form');
  await pageChecks(page, 'already joined');
  // withdraw while open: asked in place, then the form is back
  await tap(page, '.joined .withdraw');
  await page.waitForSelector('.confirm-withdraw');
  assert.ok(await focusedMatches(page, '.confirm-withdraw'));
  await tap(page, '.confirm-withdraw');
  await page.waitForSelector('.join-form');
  assert.equal(sql(`SELECT status FROM participations WHERE id = ${Number(j.body.id)}`), 'withdrawn');
  // the other shopper's page moves live: no longer sold out
  await other.evaluate((id) => { location.hash = `#/c/${id}`; }, c.id);
  await other.waitForSelector('.join-form');
});

test('a session that expires mid-flow: login, then back with the form', async () => {
  const c = await newCampaign(s.shop);
  const page = await newPage(chrome.browser);
  const login = await registerIn(page, '过期者', `/c/${c.id}`);
  await page.waitForSelector('.join-form');
  await tap(page, '.stepper button[aria-label="增加"]');
  await tap(page, '#addr-later');
  // the session ends on the server (expired) while the form is half filled
  sql(`UPDATE sessions SET expires_at = now() - interval '1 second'
        WHERE customer_id = (SELECT id FROM customers WHERE login = '${login.replace(/'/g, "''")}')`);
  // the server may serve a session from memory for session_cache_ttl_ms
  const token = await page.evaluate(() => sessionStorage.getItem('gb.shop.token'));
  await until(async () => (await api('GET', '/v1/me', undefined, token)).status === 401, 10000,
    'the server to see the session expired');
  await tap(page, '.join-form button[type=submit]');
  await page.waitForFunction(() => location.hash.startsWith('#/login?'));
  await page.waitForSelector('.notice');
  assert.equal(await text(page, '.notice'), '登录已过期，请重新登录，登录后回到刚才的页面。');
  // the header no longer says logged in
  await page.waitForSelector('#nav .nav-login');
  assert.equal(await page.$('#nav .nav-orders'), null);
  await pageChecks(page, 'login after expiry');
  await page.type('#f-login', login);
  await page.type('#f-password', PASSWORD);
  await tap(page, 'form.auth button[type=submit]');
  await page.waitForFunction((id) => location.hash === `#/c/${id}`, {}, c.id);
  await page.waitForSelector('.join-form');
  // where the user was: the same quantity and choice
  assert.equal(await page.$eval('#qty', (el) => el.value), '2');
  assert.ok(await page.$eval('#addr-later', (el) => el.checked));
  await tap(page, '.join-form button[type=submit]');
  await page.waitForSelector('.joined .pay');
  await until(async () => sql(`SELECT count(*) FROM participations WHERE campaign_id = ${Number(c.id)}`) === '1',
    3000, 'the join');
  // English, chosen in the header: the page says it in English and the
  // header of a logged-in shopper stays one row on the phone
  await page.select('#nav select.lang', 'en');
  await page.waitForFunction(() => document.querySelector('.joined h2')?.textContent === 'You joined');
  assert.equal(await text(page, '#nav .nav-orders'), 'My orders');
  const header = await page.$eval('header.top', (el) => el.getBoundingClientRect().height);
  assert.ok(header <= 60, `the header is one row (${header}px)`);
  await pageChecks(page, 'joined, in English');
});
