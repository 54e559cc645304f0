// admin-narrow.test.js - the back office on a 375 px phone (distributor
// staff often work from one): every screen of the menu, and the pages
// behind them (a campaign, its editor and audience, a product, a pickup
// point, a customer, a settlement, a webhook endpoint, a product's stock),
// shown without the page scrolling sideways (a wide table scrolls inside
// its own frame instead), every link, button and field at least 44 px
// for a finger. Signed in as the owner, who sees every screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, noHorizontalScroll, tapTargets, launch } from './support.js';
import { tenant, settledPickupSale, staffPage, open, menu } from './admin-support.js';

// The elements that widen the page: past its right edge and not inside a
// box that scrolls or clips them (an absolutely placed one counts where
// its containing block is, which may be the page itself).
function widening() {
  const inBox = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  return [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > innerWidth + 1 && !inBox(el))
    .slice(0, 10).map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
}

let chrome;
const s = {};

before(async () => {
  chrome = await launch();
  s.t = await tenant(500);
  s.sale = await settledPickupSale(s.t, { price: 5900, cost: 3000, leaderBp: 200, quantities: [1, 2],
    names: ['窄屏顾客甲', '窄屏顾客乙'] });
  const hook = await api('POST', '/v1/admin/webhooks',
    { url: 'http://127.0.0.1:9/hook', events: ['participation.*'], description: '窄屏' }, s.t.owner.token);
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  s.hook = hook.body.id;
});

after(async () => {
  if (chrome) await chrome.close();
});

test('every back-office screen fits 375 px: no sideways scrolling, every target 44 px', async () => {
  const page = await staffPage(chrome.browser, s.t.owner, 375);
  await noHorizontalScroll(page, 'menu');
  const { campaign, product, point, people } = s.sale;
  const pages = (await menu(page)).filter((href) => href.startsWith('#/')).concat([
    `#/campaigns/${campaign}`, `#/campaigns/${campaign}/edit`, `#/campaigns/${campaign}/audience`,
    '#/campaigns/new', `#/products/${product}`, `#/pickup-points/${point}`,
    `#/customers/${people[0].id}`, `#/finance/${campaign}`, `#/webhooks/${s.hook}`,
    `#/stock/${product}`]);
  assert.ok(pages.length >= 18, `menu: ${pages}`);
  const wide = [];
  const small = [];
  for (const href of pages) {
    // the screen drawn anew, not the one before it (the router draws again
    // only when the address changes)
    if (await page.evaluate((x) => (location.hash || '#/') !== x, href)) {
      await page.$eval('main', (m) => { m.replaceChildren(); });
    }
    await open(page, href, 'main h1');
    const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    try { await tapTargets(page, href); } catch (e) { small.push(e.message.split('\n').slice(0, 12).join(' ')); }
    if (w[0] > w[1]) wide.push(`${href}: ${w[0]} > ${w[1]} ${JSON.stringify(await page.evaluate(widening))}`);
  }
  assert.deepEqual(wide, []);
  assert.deepEqual(small, []);
});
