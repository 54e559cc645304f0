// admin-support.js - what the back-office tests (admin-*.test.js) share: a
// distributor with a member of staff for each role, a pickup campaign with
// a 团长 (leader's commission) whose shoppers have paid through the
// sandbox, and signing a member of staff in to /admin/.
import assert from 'node:assert/strict';
import { BASE, PASSWORD, PLATFORM, run, api, signIn, sql, until } from './support.js';

let seq = 0;
const uniq = (what) => `${what}-${run}-${++seq}`;

// A distributor (commission commissionBp) with its owner, an operator and
// finance: {id, owner, operator, finance}, each {login, password, token}.
export async function tenant(commissionBp = 500) {
  const owner = { login: `${uniq('owner')}@example.com`, password: PASSWORD };
  const d = await api('POST', '/v1/platform/distributors',
    { name: uniq('Shop'), commission_bp: commissionBp, currency: 'CNY', owner }, PLATFORM);
  assert.equal(d.status, 201, JSON.stringify(d.body));
  owner.token = await signIn('/v1/admin/sessions', owner);
  const t = { id: d.body.distributor.id, owner };
  for (const role of ['operator', 'finance']) {
    const who = { login: `${uniq(role)}@example.com`, password: PASSWORD };
    const r = await api('POST', '/v1/admin/staff', { ...who, role }, owner.token);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    who.token = await signIn('/v1/admin/sessions', who);
    t[role] = who;
  }
  return t;
}

// A shopper with a session: {login, token, id}.
export async function shopper(displayName) {
  const who = { login: `${uniq('shopper')}@example.com`, password: PASSWORD, display_name: displayName };
  const r = await api('POST', '/v1/customers', who);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  who.id = r.body.id;
  who.token = await signIn('/v1/sessions', who);
  return who;
}

const iso = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// A pickup campaign at price (cost cost, one tier) at a point whose 团长
// earns leaderBp (or with delivery: true, a delivery campaign whose
// shoppers give an address); one shopper per quantity joins and pays in
// full through the sandbox; the campaign closes and settles. Returns
// {product, point, campaign, people: [{...shopper, participation, order}],
// settlement}.
export async function settledPickupSale(t, { price, cost, leaderBp = 0, quantities, delivery = false, names = [] }) {
  const tok = t.owner.token;
  const p = await api('POST', '/v1/admin/products', {
    sku: uniq('sku'), name: '赣南脐橙 10 斤', description: '果园直发', list_price_cents: price + 1000,
    cost_price_cents: cost, stock: 1000,
  }, tok);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const pt = await api('POST', '/v1/admin/pickup-points', {
    name: '幸福小区', address: '幸福路 1 号', leader_name: '王团长', leader_phone: '13900000001',
    commission_bp: leaderBp,
  }, tok);
  assert.equal(pt.status, 201, JSON.stringify(pt.body));
  const c = await api('POST', '/v1/admin/campaigns', {
    product_id: p.body.id, title: uniq('脐橙团'), description: '自提', starts_at: iso(-60000),
    ends_at: iso(86400000), tier_basis: 'participants', tiers: [{ threshold: 1, unit_price_cents: price }],
    min_participants: 1, max_quantity: 100, per_customer_limit: 5,
    deposit_policy: [{ min_score: 0, deposit_percent: 0 }], min_score: 0,
    deposit_window_seconds: 900, payment_window_seconds: 86400,
    ...(delivery ? { fulfilment: 'delivery' } : { fulfilment: 'pickup', pickup_point_ids: [pt.body.id] }),
  }, tok);
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const cid = c.body.id;
  const pub = await api('POST', `/v1/admin/campaigns/${cid}/publish`, {}, tok);
  assert.equal(pub.body.status, 'open', JSON.stringify(pub.body));
  const people = [];
  for (const [i, q] of quantities.entries()) {
    const who = await shopper(names[i] || `顾客${i + 1}`);
    const j = await api('POST', `/v1/campaigns/${cid}/participations`,
      delivery ? { quantity: q } : { quantity: q, pickup_point_id: pt.body.id }, who.token);
    assert.equal(j.status, 201, JSON.stringify(j.body));
    who.participation = j.body.id;
    people.push(who);
  }
  sql(`UPDATE campaigns SET ends_at = greatest(starts_at + interval '1 second', now() - interval '1 second')
        WHERE id = ${Number(cid)}`);
  await until(async () => (await api('GET', `/v1/campaigns/${cid}`)).body.status === 'succeeded',
    15000, 'the campaign to succeed');
  for (const who of people) {
    const pay = await api('POST', `/v1/participations/${who.participation}/payments`, {}, who.token);
    assert.equal(pay.status, 201, JSON.stringify(pay.body));
    const ok = await api('POST', `/v1/sandbox/payments/${pay.body.payment.id}`, { outcome: 'succeeded' }, who.token);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    who.order = (await until(async () => (await api('GET', '/v1/me/orders', undefined, who.token)).body.items[0],
      10000, 'the order')).id;
    if (delivery) {
      const a = await api('PUT', `/v1/orders/${who.order}/address`,
        { name: who.display_name, phone: '13800000002', region: '上海市 浦东新区', line: '世纪大道 100 号' }, who.token);
      assert.equal(a.status, 200, JSON.stringify(a.body));
    }
  }
  const settlement = await until(async () => {
    const r = await api('GET', `/v1/admin/settlements/${cid}`, undefined, tok);
    return r.status === 200 && r.body;
  }, 15000, 'the settlement');
  return { product: p.body.id, point: pt.body.id, campaign: cid, people, settlement };
}

// A page of its own (fresh context) signed in to /admin/ as who; waits
// for the menu.
export async function staffPage(browser, who, width = 1280) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport({ width, height: 900 });
  await page.goto(`${BASE}/admin/#/login`);
  await page.waitForSelector('#f-login');
  await page.type('#f-login', who.login);
  await page.type('#f-password', who.password);
  await page.click('form.auth button[type=submit]');
  await page.waitForSelector('#nav a');
  return page;
}

// Goes to an address of the app and waits for selector.
export async function open(page, hash, selector) {
  await page.evaluate((x) => { location.hash = x; }, hash);
  return page.waitForSelector(selector);
}

// "¥1234.50" / "-¥3.00" -> cents.
export function centsOf(text) {
  const m = text.trim().match(/^(-?)¥(\d+)\.(\d\d)$/);
  assert.ok(m, `not an amount: ${text}`);
  return (m[1] ? -1 : 1) * (Number(m[2]) * 100 + Number(m[3]));
}

// The links of the menu.
export const menu = (page) => page.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('href')));
