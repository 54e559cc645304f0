// admin-growth.test.js - the back office's side of growth and service: a
// campaign's dashboard shows its waitlist's length and who brought whom
// through share links, best sharer first; the questions queue, oldest
// first with its age, answered in public (a second answer replaces it, and
// the audit log keeps the one before); the complaints queue, replied to
// and resolved, which the shopper sees. Bodies stay text. Finance has no
// service screen. axe on each screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, sql, until, axeCheck, setValue, launch } from './support.js';
import { tenant, shopper, staffPage, open, menu } from './admin-support.js';

let chrome;
const s = {};
const iso = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

before(async () => {
  chrome = await launch();
  s.t = await tenant();
  const tok = s.t.owner.token;
  const p = await api('POST', '/v1/admin/products', {
    sku: `growth-${Date.now()}`, name: '阳光玫瑰 2kg', description: '', list_price_cents: 9900,
    cost_price_cents: 4000, stock: 1000,
  }, tok);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const c = await api('POST', '/v1/admin/campaigns', {
    product_id: p.body.id, title: '阳光玫瑰拼团', description: '', starts_at: iso(-60000), ends_at: iso(86400000),
    tier_basis: 'participants', tiers: [{ threshold: 1, unit_price_cents: 8800 }], min_participants: 1,
    max_quantity: 4, per_customer_limit: 2, deposit_policy: [{ min_score: 0, deposit_percent: 0 }],
    fulfilment: 'delivery',
  }, tok);
  assert.equal(c.status, 201, JSON.stringify(c.body));
  s.c = (await api('POST', `/v1/admin/campaigns/${c.body.id}/publish`, {}, tok)).body;
  // two sharers: 甲 brings two friends, 乙 one; the cap is then full
  s.a = await shopper('分享甲');
  s.b = await shopper('分享乙');
  const codeOf = async (who) => (await api('POST', `/v1/campaigns/${s.c.id}/shares`, {}, who.token)).body.code;
  const [ca, cb] = [await codeOf(s.a), await codeOf(s.b)];
  s.friends = [];
  for (const code of [ca, ca, cb]) {
    const f = await shopper('朋友');
    s.friends.push(f);
    const j = await api('POST', `/v1/campaigns/${s.c.id}/participations`, { quantity: 1, share_code: code }, f.token);
    assert.equal(j.status, 201, JSON.stringify(j.body));
  }
  const last = await shopper('最后一位');
  assert.equal((await api('POST', `/v1/campaigns/${s.c.id}/participations`, { quantity: 1 }, last.token)).status, 201);
  // full: one customer waits for 2 units
  s.waiter = await shopper('候补顾客');
  const w = await api('POST', `/v1/campaigns/${s.c.id}/waitlist`, { quantity: 2 }, s.waiter.token);
  assert.equal(w.status, 201, JSON.stringify(w.body));
});

after(async () => {
  if (chrome) await chrome.close();
});

test('the dashboard shows the waitlist and the referral list, best first', async () => {
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, `#/campaigns/${s.c.id}`, '.growth tr[data-sharer]');
  assert.equal((await page.$eval('.growth .waitlist-length', (el) => el.textContent)).trim(), '候补：1 人，共 2 件');
  const rows = await page.$$eval('.growth tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  assert.deepEqual(rows, [['分享甲', '2', '0'], ['分享乙', '1', '0']]);
  await axeCheck(page, 'dashboard with referrals');
});

test('the questions queue: oldest first with its age, answered in public, a replaced answer audited', async () => {
  const asker = await shopper('提问顾客');
  const bodies = ['第一个问题：几天到货？', '<b>第二个</b> & "问题"'];
  const ids = [];
  for (const body of bodies) {
    const q = await api('POST', `/v1/campaigns/${s.c.id}/questions`, { body }, asker.token);
    assert.equal(q.status, 201, JSON.stringify(q.body));
    ids.push(q.body.id);
  }
  sql(`UPDATE questions SET created_at = now() - interval '3 hours 5 minutes' WHERE id = ${ids[0]}`);
  const page = await staffPage(chrome.browser, s.t.operator);
  assert.ok((await menu(page)).includes('#/questions'), 'the service queues are in the menu');
  await open(page, '#/questions', `tr[data-question="${ids[1]}"]`);
  const order = await page.$$eval('tr[data-question]', (trs) => trs.map((tr) => Number(tr.dataset.question)));
  assert.deepEqual(order.filter((id) => ids.includes(id)), ids, 'oldest first');
  assert.match(await page.$eval(`tr[data-question="${ids[0]}"] td`, (td) => td.textContent), /^3 小时 5 分/);
  assert.equal(await page.$eval(`tr[data-question="${ids[1]}"] td.body`, (td) => td.textContent), bodies[1]);
  assert.equal(await page.$(`tr[data-question="${ids[1]}"] td.body b`), null, 'a body stays text');
  await axeCheck(page, 'questions queue');
  await setValue(page, `#sv-answer-${ids[0]}`, '下单后 2 天内到货');
  await page.click(`tr[data-question="${ids[0]}"] form.answer button[type=submit]`);
  await page.waitForFunction((id) => !document.querySelector(`tr[data-question="${id}"]`), {}, ids[0]);
  const pub = await api('GET', `/v1/campaigns/${s.c.id}/questions`);
  assert.deepEqual(pub.body.items.map((q) => [q.id, q.answer]), [[ids[0], '下单后 2 天内到货']]);

  // answered: replace the answer, privately this time
  await open(page, '#/questions?status=answered', `tr[data-question="${ids[0]}"] .current-answer`);
  await axeCheck(page, 'answered questions');
  await setValue(page, `#sv-answer-${ids[0]}`, '下单后 3 天内到货');
  await page.click(`#sv-public-${ids[0]}`);
  await page.click(`tr[data-question="${ids[0]}"] form.answer button[type=submit]`);
  await page.waitForFunction((id) => document.querySelector(`tr[data-question="${id}"] .current-answer`)
    ?.textContent.startsWith('下单后 3 天内到货'), {}, ids[0]);
  assert.deepEqual((await api('GET', `/v1/campaigns/${s.c.id}/questions`)).body.items, [], 'no longer public');
  const audit = sql(`SELECT count(*) FROM audit_log WHERE entity = 'question' AND entity_id = ${ids[0]}
                       AND before::text LIKE '%下单后 2 天内到货%'`);
  assert.equal(audit, '1', 'the replaced answer is in the audit log');
});

test('the complaints queue: reply and resolve, which the shopper sees', async () => {
  const who = s.friends[2];
  const k = await api('POST', '/v1/me/complaints', { body: '客服电话打不通 <急>', campaign_id: s.c.id }, who.token);
  assert.equal(k.status, 201, JSON.stringify(k.body));
  const page = await staffPage(chrome.browser, s.t.owner);
  await open(page, '#/complaints', `tr[data-complaint="${k.body.id}"] form.reply`);
  assert.match(await page.$eval(`tr[data-complaint="${k.body.id}"] td.body`, (td) => td.textContent), /^客服电话打不通 <急>/);
  await axeCheck(page, 'complaints queue');
  await setValue(page, `#sv-reply-${k.body.id}`, '抱歉，已安排专人回电');
  await page.click(`tr[data-complaint="${k.body.id}"] form.reply button[type=submit]`);
  await page.waitForFunction((id) => document.querySelector(`tr[data-complaint="${id}"] .replies li`), {}, k.body.id);
  await setValue(page, `#sv-note-${k.body.id}`, '已回电解决');
  await page.click(`tr[data-complaint="${k.body.id}"] form.resolve button[type=submit]`);
  await page.waitForFunction((id) => !document.querySelector(`tr[data-complaint="${id}"]`), {}, k.body.id);
  const mine = await until(async () => (await api('GET', '/v1/me/complaints', undefined, who.token)).body.items[0], 5000, 'mine');
  assert.equal(mine.status, 'resolved');
  assert.deepEqual(mine.replies.map((r) => r.body), ['抱歉，已安排专人回电']);
  await open(page, '#/complaints?status=resolved', `tr[data-complaint="${k.body.id}"]`);
  await axeCheck(page, 'resolved complaints');
});

test('finance has no service queues', async () => {
  const page = await staffPage(chrome.browser, s.t.finance);
  assert.ok(!(await menu(page)).includes('#/questions'));
  await open(page, '#/questions', 'main h1');
  assert.equal(await page.$('tr[data-question]'), null);
});
