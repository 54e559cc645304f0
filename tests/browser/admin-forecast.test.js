// admin-forecast.test.js - the forecast, the ladder planner and the model
// page (#24): the dashboard of an open campaign says the API's forecast
// ("预计 … 人参团，…% 概率成团") with its arrivals and their basis and shades
// the ladder by each tier's chance, a closed one shows no forecast; the
// editor's planner answers what the API answers for the form's ladder,
// again after a tier changes, with the margin per tier; the owner's model
// page draws the calibration as SVG, refuses a refit without history in
// the server's words, shows current against proposed once there is
// history, and adopts them; operators get no model page. axe on each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { run, api, sql, until, axeCheck, setValue, text, launch } from './support.js';
import { tenant, staffPage, open, menu, centsOf } from './admin-support.js';

let chrome;
const s = {};
const iso = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const TIERS = [{ threshold: 1, unit_price_cents: 9900 }, { threshold: 10, unit_price_cents: 8900 },
  { threshold: 15, unit_price_cents: 7900 }];

before(async () => {
  chrome = await launch();
  s.t = await tenant(500);
  const p = await api('POST', '/v1/admin/products', {
    sku: `fc-${run}`, name: '五常大米 5kg', description: '', list_price_cents: 10000, cost_price_cents: 6000, stock: 1000,
  }, s.t.owner.token);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  s.product = p.body.id;
});

after(async () => {
  if (chrome) await chrome.close();
});

function campaignBody(title, extra = {}) {
  return {
    product_id: s.product, title, description: '', starts_at: iso(-60000), ends_at: iso(86400000),
    tier_basis: 'participants', tiers: TIERS, min_participants: 10, max_quantity: 500, per_customer_limit: 2,
    deposit_policy: [{ min_score: 0, deposit_percent: 0 }], min_score: 0, deposit_window_seconds: 900,
    payment_window_seconds: 86400, fulfilment: 'delivery', ...extra,
  };
}

// An open campaign with n shoppers in (score 75 each, through the
// database), half its time gone.
async function halfwayCampaign(title, n) {
  const tok = s.t.owner.token;
  const c = await api('POST', '/v1/admin/campaigns', campaignBody(title), tok);
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const pub = await api('POST', `/v1/admin/campaigns/${c.body.id}/publish`, {}, tok);
  assert.equal(pub.body.status, 'open', JSON.stringify(pub.body));
  const id = Number(c.body.id);
  sql(`WITH cu AS (INSERT INTO customers (login, password_hash, display_name)
         SELECT 'fc-${run}-${id}-' || g || '@example.com', 'x', '顾客' || g FROM generate_series(1, ${n}) g RETURNING id)
       INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity, status, score_at_join,
         p_complete_at_join, deposit_percent, deposit_cents)
       SELECT ${Number(s.t.id)}, ${id}, cu.id, 1, 'active', 75, 0.75, 0, 0 FROM cu`);
  sql(`UPDATE campaigns SET starts_at = now() - interval '2 days', ends_at = now() + interval '2 days' WHERE id = ${id}`);
  return id;
}

test('the dashboard says the forecast with who is still to come, and shades the ladder', async () => {
  const id = await halfwayCampaign(`半程团-${run}`, 5);
  const f = (await api('GET', `/v1/admin/campaigns/${id}`, undefined, s.t.owner.token)).body.forecast;
  assert.ok(f && f.arrivals.expected > 4, JSON.stringify(f));
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, `#/campaigns/${id}`, '#forecast');
  const line = await text(page, '#forecast .forecast-line');
  // the people still to come count: 5 in at 0.75 and about 5 more
  const m = line.match(/^预计 ([\d.]+) 人参团，(\d+)% 概率成团$/);
  assert.ok(m, line);
  assert.ok(Math.abs(Number(m[1]) - f.expected_participants) <= 0.1, `${line} vs ${f.expected_participants}`);
  assert.ok(Math.abs(Number(m[2]) - Math.round(f.success_probability * 100)) <= 1, line);
  assert.ok(Number(m[1]) > 6, `more than the 3.75 of the people in alone: ${line}`);
  const arrivals = await text(page, '#forecast .forecast-arrivals');
  assert.match(arrivals, /^已参团 5 人，截止前预计还有 [\d.]+ 人加入； ?历史活动不足，按默认节奏估算。$/);
  const tiers = await page.$$eval('.ladder li', (lis) => lis.map((li) => li.querySelector('.tier-prob')?.textContent));
  assert.equal(tiers.length, f.tier_probabilities.length);
  tiers.forEach((s2, i) => {
    const m2 = (s2 || '').match(/^以此价成团 (\d+)%$/);
    assert.ok(m2, s2);
    assert.ok(Math.abs(Number(m2[1]) - Math.round(f.tier_probabilities[i].probability * 100)) <= 1, `${s2} vs ${JSON.stringify(f)}`);
  });
  await axeCheck(page, 'dashboard forecast');
  // closed: the outcome, never a forecast
  sql(`UPDATE campaigns SET status = 'failed', closed_at = now() WHERE id = ${id}`);
  await page.reload();
  await page.waitForSelector('.outcome');
  assert.equal(await page.$('#forecast'), null);
  assert.equal(await page.$('.tier-prob'), null);
  await page.browserContext().close();
});

test('the editor plans the ladder live: the API’s answer, margin per tier, again when a tier changes', async () => {
  const page = await staffPage(chrome.browser, s.t.operator);
  await open(page, '#/campaigns/new', '#planner');
  await setValue(page, '#f-min_participants', '8');
  await setValue(page, '#f-audience_size', '200');
  const body = campaignBody('x', { min_participants: 8, audience_size: 200, max_quantity: 100 });
  async function expectPlan(tiers) {
    const want = await api('POST', '/v1/admin/forecasts/ladder', { ...body, tiers }, s.t.owner.token);
    assert.equal(want.status, 200, JSON.stringify(want.body));
    const line = `预计 ${want.body.expected_participants.toFixed(1)} 人参团，${Math.round(want.body.success_probability * 100)}% 概率成团`;
    await page.waitForFunction((l) => document.querySelector('#planner .planner-line')?.textContent === l, { timeout: 10000 }, line);
    await page.waitForFunction((c) => {
      const cell = document.querySelector('#planner .planner-totals .margin');
      return cell && cell.textContent === c;
    }, { timeout: 10000 }, `¥${Math.floor(want.body.expected_margin_cents / 100)}.${String(want.body.expected_margin_cents % 100).padStart(2, '0')}`);
    const rows = await page.$$eval('#planner .planner-tiers tbody tr', (trs) => trs.map((tr) =>
      [...tr.children].map((td) => td.textContent)));
    assert.equal(rows.length, tiers.length);
    rows.forEach((r, i) => {
      const x = want.body.tier_probabilities[i];
      assert.equal(centsOf(r[1]), tiers[i].unit_price_cents);
      assert.equal(centsOf(r[2]), 6000);
      assert.equal(centsOf(r[3]), tiers[i].unit_price_cents - 6000); // margin per unit of the tier
      assert.equal(r[4], `${Math.round(x.probability * 100)}%`);
    });
    return want.body;
  }
  // the editor's default ladder is 99 / 89; make it the test's three tiers
  const rowsNow = await page.$$('[data-field=tiers] tbody tr');
  assert.equal(rowsNow.length, 2);
  await page.click('[data-field=tiers] .add-row');
  await setValue(page, '[data-field=tiers] tbody tr:nth-child(3) input[data-key=threshold]', '15');
  await setValue(page, '[data-field=tiers] tbody tr:nth-child(3) input[data-key=unit_price_cents]', '79.00');
  const first = await expectPlan(TIERS);
  // a cheaper last tier: a smaller margin, the planner follows
  await setValue(page, '[data-field=tiers] tbody tr:nth-child(3) input[data-key=unit_price_cents]', '65.00');
  const cheaper = [TIERS[0], TIERS[1], { threshold: 15, unit_price_cents: 6500 }];
  const second = await expectPlan(cheaper);
  assert.ok(second.expected_margin_cents < first.expected_margin_cents);
  assert.match(await text(page, '#planner .planner-tiers tbody tr:nth-child(3) td:nth-child(4)'), /^¥5\.00$/);
  await axeCheck(page, 'editor planner');
  await page.browserContext().close();
});

test('the owner’s model page: calibration charts, a refit refused then proposed, adopted', async () => {
  const tok = s.t.owner.token;
  const page = await staffPage(chrome.browser, s.t.owner);
  assert.ok((await menu(page)).includes('#/model'));
  await open(page, '#/model', '#refit');
  await axeCheck(page, 'model page, empty');
  // nothing yet: the server's reason, in place
  await page.click('#refit');
  await page.waitForSelector('#refit-result .notice');
  assert.match(await text(page, '#refit-result .notice'), /history/i);
  // a history: 30 settled campaigns, 300 participations (a fifth defaulted), each with its event
  const d = Number(s.t.id);
  sql(`WITH c AS (
         INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at, ends_at, tier_basis, tiers,
           min_participants, max_quantity, per_customer_limit, deposit_policy, final_unit_price_cents, closed_at)
         SELECT ${d}, ${Number(s.product)}, 'hist-${run}-' || g, 'settled', now() - (g + 2) * interval '7 days',
           now() - (g + 1) * interval '7 days', 'participants', '[{"threshold": 1, "unit_price_cents": 9000}]', 1, 100, 10,
           '[{"min_score": 0, "deposit_percent": 0}]', 9000, now() - (g + 1) * interval '7 days'
         FROM generate_series(0, 29) g RETURNING id, closed_at),
       cu AS (INSERT INTO customers (login, password_hash, display_name)
         SELECT 'hist-${run}-' || g || '@example.com', 'x', 'H' || g FROM generate_series(0, 29) g RETURNING id),
       p AS (INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity, status, score_at_join,
           p_complete_at_join, deposit_percent, deposit_cents, created_at)
         SELECT ${d}, c.id, cu.id, 1, CASE WHEN (c.id + cu.id) % 5 = 0 THEN 'defaulted' ELSE 'paid' END, 75, 0.75, 0, 0,
           c.closed_at - interval '3 days'
         FROM c CROSS JOIN (SELECT id FROM cu ORDER BY id LIMIT 10) cu RETURNING id, customer_id, status, created_at)
       INSERT INTO customer_events (customer_id, distributor_id, participation_id, kind, occurred_at)
       SELECT customer_id, ${d}, id, CASE WHEN status = 'paid' THEN 'completed' ELSE 'defaulted' END,
         created_at + interval '2 days' FROM p`);
  await page.reload();
  await page.waitForSelector('#cal-join svg.calibration-chart');
  const report = (await api('GET', '/v1/admin/reports/reliability', undefined, tok)).body;
  const dots = await page.$$eval('#cal-join svg circle.bucket', (cs) => cs.length);
  assert.equal(dots, report.buckets.filter((b) => b.count > 0).length);
  assert.ok(dots > 0);
  assert.equal(await page.$$eval('.chart-grid section.calibration', (x) => x.length), 3);
  await page.click('#refit');
  await page.waitForSelector('#adopt', { timeout: 30000 });
  const loss = await text(page, '#refit-result .proposed-loss');
  assert.match(loss, /^\d\.\d+$/);
  await axeCheck(page, 'model page, refit');
  await page.click('#adopt');
  await until(async () => (await api('GET', '/v1/admin/reliability/parameters', undefined, tok)).body.source === 'adopted',
    10000, 'the adopted parameters');
  await page.waitForFunction(() => document.querySelector('#params-source')?.textContent.startsWith('本店自己的参数'));
  await page.browserContext().close();
  // operators neither see nor use it
  const op = await staffPage(chrome.browser, s.t.operator);
  assert.ok(!(await menu(op)).includes('#/model'));
  await open(op, '#/model', 'main .empty');
  assert.equal(await op.$('#refit'), null);
  await op.browserContext().close();
});
