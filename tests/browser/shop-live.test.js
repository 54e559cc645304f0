// shop-live.test.js - the campaign list on one live stream, and the server
// stopped and back. Eight open campaigns and one about to start (即将开始,
// with its start time): a phone tab and then a second (desktop) tab of the
// same browser both load at once, /metrics shows one stream per page
// (never one per card), and every card of both tabs moves live after a
// join elsewhere. Then the server stops: the live parts say they are
// stale, a page that cannot load shows the banner with a retry; the server
// comes back: the banner goes, the page loads by itself, the stream is
// back and the cards move again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, api, until, launch, text, newShop, newCampaign, newShopper, newPage, pageChecks, metric,
  stopServer, startServer, screenshot,
} from './support.js';

let chrome;
const s = {};

before(async () => {
  chrome = await launch();
  s.shop = await newShop('live');
  s.campaigns = [];
  for (let i = 0; i < 8; i++) {
    s.campaigns.push(await newCampaign(s.shop, { productName: `鲜橙 ${i + 1} 号` }));
  }
  const soon = new Date(Date.now() + 3 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  s.soon = await newCampaign(s.shop, { productName: '新米 10kg', starts_at: soon });
});

after(async () => {
  if (s.stopped) await startServer(); // for the tests that follow
  if (chrome) await chrome.close();
});

const joinedText = (page, id) => page.$eval(`.card[data-campaign="${id}"] .participants`, (el) => el.textContent);

async function allCards(page, n) {
  for (const c of s.campaigns) {
    await page.waitForFunction((id, k) => document.querySelector(`.card[data-campaign="${id}"] .participants`)
      ?.textContent === `${k} 人已参团`, { timeout: 5000 }, c.id, n);
  }
}

test('two tabs of 8 cards each load, on one stream per page, and every card moves live', async () => {
  const phone = await newPage(chrome.browser);
  await phone.goto(`${BASE}/#/`);
  await allCards(phone, 0);
  // the first load: at most 150 KB, nothing from another origin
  const load = await phone.evaluate(() => {
    const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
    return {
      bytes: all.reduce((n, e) => n + (e.encodedBodySize || 0), 0),
      foreign: all.map((e) => e.name).filter((u) => new URL(u).origin !== location.origin),
    };
  });
  assert.ok(load.bytes > 0 && load.bytes <= 150 * 1024, `first load ${load.bytes} bytes`);
  assert.deepEqual(load.foreign, []);
  // a second tab of the same browser (the same connections per host)
  const desk = await phone.browserContext().newPage();
  await desk.setViewport({ width: 1280, height: 900 });
  const t0 = Date.now();
  await desk.goto(`${BASE}/#/`);
  await allCards(desk, 0);
  assert.ok(Date.now() - t0 < 10000, 'the second tab loads');
  // 即将开始 with its start time
  await phone.waitForSelector(`.cards.soon .card[data-campaign="${s.soon.id}"] .starts`);
  assert.equal(await text(phone, 'h2.section'), '即将开始');
  assert.match(await text(phone, `.card[data-campaign="${s.soon.id}"] .starts`), /开始$/);
  // one stream per page, whatever the number of cards
  await until(async () => (await metric('groupbuyd_sse_streams')) === 2, 5000, 'two streams open');
  assert.equal(await metric('groupbuyd_sse_streams_many'), 2);
  await pageChecks(phone, 'campaign list (phone)');
  await pageChecks(desk, 'campaign list (desktop)');
  await screenshot(phone, 'shop-list');

  // a join elsewhere on each campaign: every card of both tabs follows
  const buyer = await newShopper('列表买家');
  for (const c of s.campaigns) {
    const j = await api('POST', `/v1/campaigns/${c.id}/participations`, { quantity: 1 }, buyer.token);
    assert.equal(j.status, 201, JSON.stringify(j.body));
  }
  await allCards(phone, 1);
  await allCards(desk, 1);
  assert.equal(await metric('groupbuyd_sse_streams'), 2, 'still one stream per page');
  s.phone = phone;
  s.desk = desk;
  s.buyer = buyer;
});

test('the server stopped and back: stale, a banner with retry, then live again', async () => {
  const { phone, desk } = s;
  assert.ok(phone && desk, 'the list pages of the test before');
  await phone.bringToFront();
  s.stopped = true;
  await stopServer();
  // the live parts say they may be out of date
  await phone.waitForSelector('.stale-note:not([hidden])', { timeout: 10000 });
  await desk.waitForSelector('.stale-note:not([hidden])', { timeout: 10000 });
  assert.ok(await phone.$eval('.cards', (el) => el.classList.contains('stale')));
  // a page that cannot load: the banner with a retry, not "页面不存在 / HTTP 0"
  await phone.evaluate((id) => { location.hash = `#/c/${id}`; }, s.campaigns[0].id);
  await phone.waitForSelector('#banner:not([hidden]) .retry', { timeout: 10000 });
  assert.equal(await text(phone, '#banner p'), '无法连接服务器，显示的可能不是最新内容。');
  await phone.waitForSelector('.page-error .retry');
  assert.doesNotMatch(await text(phone, 'main'), /页面不存在|HTTP 0/);
  await pageChecks(phone, 'server unreachable');
  await screenshot(phone, 'shop-offline');
  // retry while still down: the banner stays, the focus back on retry
  await phone.click('#banner .retry');
  await phone.waitForFunction(() => document.activeElement?.matches('#banner .retry'), { timeout: 5000 });

  await startServer();
  s.stopped = false;
  // the banner goes, the page that failed loads by itself
  await phone.waitForSelector('#banner[hidden]', { timeout: 10000 });
  await phone.waitForSelector('.campaign .live .participants', { timeout: 10000 });
  // the list's stream is back (the browser retries it) and says so
  await desk.waitForSelector('.stale-note[hidden]', { timeout: 30000 });
  assert.ok(!(await desk.$eval('.cards', (el) => el.classList.contains('stale'))));
  const c = s.campaigns[1];
  const other = await newShopper('回来后');
  const j = await api('POST', `/v1/campaigns/${c.id}/participations`, { quantity: 1 }, other.token);
  assert.equal(j.status, 201, JSON.stringify(j.body));
  await until(async () => (await joinedText(desk, c.id)) === '2 人已参团', 5000, 'the card moves again');
});
