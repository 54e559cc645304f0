// shop-growth.test.js - sharing, waiting and asking, as a shopper meets
// them (375 px): the share card (the product, the price now, 还差 N 人)
// copies the shopper's own link; a friend who opens it lands on the
// campaign with the code, joins, and is recorded as brought by the sharer,
// who sees them under 我的分享. A sold-out campaign offers the waitlist:
// my position, promoted when a unit frees up, and leaving it. Questions on
// the campaign page (HTML-special characters shown as text), 我的提问, and
// a complaint under 我的投诉 with the staff's reply. Each page: axe, no
// horizontal scroll, tap targets of 44 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, api, sql, until, launch, text, newShop, newCampaign, newShopper, newPage, registerIn,
  pageChecks, tap,
} from './support.js';

let chrome;
const s = {};

before(async () => {
  chrome = await launch();
  s.shop = await newShop('growth');
});

after(async () => {
  if (chrome) await chrome.close();
});

test('a share link brings a friend, who is recorded as brought (375 px)', async () => {
  const c = await newCampaign(s.shop, { min_participants: 3 });
  const sharer = await newPage(chrome.browser);
  await sharer.browserContext().overridePermissions(BASE, ['clipboard-read', 'clipboard-sanitized-write']);
  await registerIn(sharer, '分享人', `/c/${c.id}`);
  await sharer.waitForSelector('.share-card button.share');
  assert.match(await text(sharer, '.share-card .share-offer'), /有机苹果 5kg · 现价 ¥99\.00 · 还差 3 人成团/);
  await pageChecks(sharer, 'campaign with its share card');
  await tap(sharer, '.share-card button.share');
  await sharer.waitForSelector('#share-url');
  const url = await sharer.$eval('#share-url', (el) => el.value);
  assert.match(url, new RegExp(`^${BASE}/s/[a-km-np-z2-9]{12}$`));
  assert.equal(await sharer.evaluate(() => navigator.clipboard.readText()), url, 'the link is on the clipboard');
  assert.equal(await text(sharer, '.share-out .result'), '链接已复制');
  await pageChecks(sharer, 'share link copied');

  // what a chat app reads: the offer in the page's tags
  const html = await (await fetch(url)).text();
  assert.match(html, /<meta property="og:description" content="[^"]*还差 3 人成团/);

  // the friend opens the link: the campaign, the code kept for the join
  const friend = await newPage(chrome.browser);
  await friend.goto(url);
  await friend.waitForFunction((id) => location.hash === `#/c/${id}` && location.search === '', {}, c.id);
  await registerIn(friend, '朋友甲', `/c/${c.id}`);
  await friend.waitForSelector('.join-form');
  if (await friend.$('#addr-later')) await tap(friend, '#addr-later');
  await tap(friend, '.join-form button[type=submit]');
  await friend.waitForSelector('.joined');
  const sharerId = sql(`SELECT c.id FROM customers c WHERE c.display_name = '分享人'
                         AND EXISTS (SELECT 1 FROM shares x WHERE x.customer_id = c.id AND x.campaign_id = ${Number(c.id)})`);
  assert.equal(sql(`SELECT referred_by_customer_id FROM participations WHERE campaign_id = ${Number(c.id)}`), sharerId);

  // 我的分享: who joined through the link
  await sharer.goto(`${BASE}/#/me/shares`);
  await sharer.waitForSelector('.share-item .friends');
  assert.equal(await text(sharer, '.share-item .share-counts'), '1 人通过链接参团，0 人已付款');
  assert.match(await text(sharer, '.share-item .friends li'), /^朋\* · /);
  await pageChecks(sharer, 'my shares');
});

test('sold out: wait, get the freed unit, and leave (375 px)', async () => {
  const c = await newCampaign(s.shop, { max_quantity: 2, per_customer_limit: 2 });
  const early = await newShopper('先到者');
  const j = await api('POST', `/v1/campaigns/${c.id}/participations`, { quantity: 2 }, early.token);
  assert.equal(j.status, 201, JSON.stringify(j.body));

  const page = await newPage(chrome.browser);
  await registerIn(page, '候补者', `/c/${c.id}`);
  await page.waitForSelector('.state-soldout .join-waitlist');
  await pageChecks(page, 'sold out with the waitlist');
  await tap(page, '.state-soldout .join-waitlist');
  await page.waitForSelector('.wl-position');
  assert.equal(await text(page, '.wl-position'), '候补第 1 位 · 1 件');
  await pageChecks(page, 'waiting');

  // a second shopper queues behind, and leaves again
  const second = await newPage(chrome.browser);
  await registerIn(second, '第二位', `/c/${c.id}`);
  await second.waitForSelector('.state-soldout .join-waitlist');
  await tap(second, '.state-soldout .join-waitlist');
  await second.waitForSelector('.wl-position');
  assert.equal(await text(second, '.wl-position'), '候补第 2 位 · 1 件');
  await tap(second, '.leave-waitlist');
  await second.waitForSelector('.state-soldout .join-waitlist');
  await second.goto(`${BASE}/#/me/waitlist`);
  await second.waitForSelector('.wl-item');
  assert.match(await text(second, '.wl-item'), /已退出候补/);
  await pageChecks(second, 'my waitlist');

  // the first shopper withdraws: the unit goes to the waiting shopper
  const w = await api('POST', `/v1/participations/${j.body.id}/withdraw`, {}, early.token);
  assert.equal(w.status, 200, JSON.stringify(w.body));
  const first = `SELECT status || ' ' || coalesce(reason, '') FROM waitlist_entries
                  WHERE campaign_id = ${Number(c.id)} ORDER BY id LIMIT 1`;
  await until(() => !sql(first).startsWith('waiting'), 5000, 'the entry decided');
  assert.equal(sql(first), 'promoted');
  await page.waitForSelector('.joined', { timeout: 10000 });
  await pageChecks(page, 'promoted from the waitlist');
});

test('questions on the campaign page and my questions; a complaint and its reply', async () => {
  const c = await newCampaign(s.shop);
  const page = await newPage(chrome.browser);
  await registerIn(page, '提问者', `/c/${c.id}`);
  await page.waitForSelector('.questions #qa-body');
  const body = '<b>甜吗</b> & "大"? <script>alert(1)</script>';
  await page.type('#qa-body', body);
  await tap(page, '.qa-form button[type=submit]');
  await page.waitForSelector('.qa-form .result');
  await pageChecks(page, 'question asked');
  const q = JSON.parse(sql(`SELECT json_build_object('id', id, 'body', body) FROM questions WHERE campaign_id = ${Number(c.id)}`));
  assert.equal(q.body, body, 'stored as typed');
  const a = await api('POST', `/v1/admin/questions/${q.id}/answer`, { body: '很甜 <i>包甜</i>', public: true }, s.shop.token);
  assert.equal(a.status, 200, JSON.stringify(a.body));

  // the public answer under the campaign, as text
  await page.reload();
  await page.waitForSelector('.qa-item .q');
  assert.equal(await text(page, '.qa-item .q'), `问 ${body}`);
  assert.equal(await text(page, '.qa-item .a'), '答 很甜 <i>包甜</i>');
  assert.equal(await page.$('.qa-item b, .qa-item i, .qa-item script'), null, 'no markup from a body');
  await pageChecks(page, 'public questions');
  await page.goto(`${BASE}/#/me/questions`);
  await page.waitForSelector('.my-question .a');
  await pageChecks(page, 'my questions');

  // a complaint about a campaign of mine
  const me = sql(`SELECT customer_id FROM questions WHERE id = ${Number(q.id)}`);
  const token = await page.evaluate(() => sessionStorage.getItem('gb.shop.token'));
  const p = await api('POST', `/v1/campaigns/${c.id}/participations`, { quantity: 1 }, token);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  await page.goto(`${BASE}/#/me/complaints`);
  await page.waitForSelector('.complaint-form #cp-body');
  await pageChecks(page, 'my complaints, empty');
  await page.select('#cp-campaign', String(c.id));
  await page.type('#cp-body', '自提点 <没开门>');
  await tap(page, '.complaint-form button[type=submit]');
  await page.waitForSelector('.my-complaint');
  assert.equal(await text(page, '.my-complaint .cp-body'), '自提点 <没开门>');
  const k = sql(`SELECT id FROM complaints WHERE customer_id = ${Number(me)}`);
  const r = await api('POST', `/v1/admin/complaints/${k}/reply`, { body: '已联系团长，明天 9 点开门' }, s.shop.token);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await page.reload();
  await page.waitForSelector('.my-complaint .reply');
  assert.match(await text(page, '.my-complaint .reply'), /已联系团长，明天 9 点开门/);
  await pageChecks(page, 'my complaint with its reply');
});
