// shop/growth.js - sharing and waiting: the share card on a campaign (the
// product, the price now, how many are still needed, and the shopper's
// own link copied), 我的分享 (who joined through each link), and the
// waitlist of a sold-out campaign (queue, my position, leave) with 我的候补.
// Loaded with the first campaign page (not part of the app's first load);
// the code a friend arrived with is sharecode.js's.
import { t } from '../lib/i18n.js';
import { h, fill, mount, money, dateTime, focusOn, showError } from '../lib/ui.js';
import {
  api, main, session, go, loginPath, explain, pageError, toast, allPages,
} from './shell.js';
import { withShareCode, dropShareCode } from './sharecode.js';

// ---- the share card -------------------------------------------------------

// What still stands between the campaign and its next step, in words:
// 还差 N 人成团, else the next tier, else the lowest price reached.
function needed(c) {
  const p = c.progress || {};
  const missing = (c.min_participants || 0) - (p.participants || 0);
  if (missing > 0) return t('c.missing', { n: missing });
  if (p.next_tier) {
    return t(c.tier_basis === 'quantity' ? 'c.next.units' : 'c.next.people',
      { n: p.next_tier.needed, price: money(p.next_tier.unit_price_cents) });
  }
  return t('c.lowest');
}

export function shareCard(c) {
  const price = h('strong', { class: 'share-price' });
  const need = h('span', { class: 'share-need' });
  const out = h('div', { class: 'share-out' });
  const button = h('button', { type: 'button', class: 'secondary share' }, t('sh.copy'));
  button.addEventListener('click', async () => {
    if (!session.me) {
      go(loginPath());
      return;
    }
    button.disabled = true;
    try {
      const s = await api.post(`/v1/campaigns/${c.id}/shares`, {});
      const url = `${location.origin}${s.url}`;
      const input = h('input', { id: 'share-url', class: 'share-url', type: 'url', readonly: true, value: url,
        onfocus: (e) => e.target.select() });
      const said = h('p', { class: 'result', role: 'status' });
      fill(out, h('label', { for: 'share-url' }, t('sh.yourLink')), input, said);
      try {
        await navigator.clipboard.writeText(url);
        said.textContent = t('c.copied');
      } catch {
        said.textContent = t('sh.copyByHand');
        input.focus();
      }
    } catch (err) {
      const why = explain(err, 'share');
      if (why !== null) {
        fill(out, h('p', { class: 'field-error', role: 'alert' }, why));
        focusOn(out.firstChild);
      }
    } finally {
      button.disabled = false;
    }
  });
  const card = h('section', { class: 'share-card', 'aria-labelledby': 'share-title' },
    h('h2', { id: 'share-title' }, t('sh.title')),
    h('p', { class: 'share-offer' }, h('span', { class: 'share-product' }, c.product?.name || c.title), ' · ',
      t('sh.priceNow'), ' ', price, ' · ', need),
    h('p', { class: 'muted' }, t('sh.why')),
    button, out);
  card.update = () => {
    price.textContent = money(c.progress?.current_unit_price_cents);
    need.textContent = needed(c);
  };
  card.update();
  return card;
}

// ---- 我的分享 ----------------------------------------------------------

export async function mySharesPage(params, ctx = { alive: () => true }) {
  if (!session.me) { go(loginPath()); return; }
  const title = t('sh.mine');
  let items;
  try {
    items = await allPages('/v1/me/shares');
  } catch (err) {
    if (ctx.alive()) pageError(title, err, () => mySharesPage(params, ctx));
    return;
  }
  if (!ctx.alive()) return;
  mount(main, h('h1', {}, title), meNav('shares'),
    items.length === 0
      ? h('p', { class: 'empty', role: 'status' }, t('sh.none'), ' ', h('a', { class: 'tap', href: '#/' }, t('nav.campaigns')))
      : h('ul', { class: 'mine' }, items.slice().reverse().map((s) => h('li', { class: 'mine-item share-item', 'data-code': s.code },
        h('h2', {}, h('a', { href: `#/c/${s.campaign_id}` }, s.campaign_title)),
        h('p', { class: 'share-counts' }, t('sh.counts', { joined: s.joined, completed: s.completed })),
        h('p', { class: 'muted' }, `${location.origin}${s.url}`),
        s.friends.length
          ? h('ul', { class: 'friends', 'aria-label': t('sh.friends') }, s.friends.map((f) => h('li', {},
            f.name, ' · ', t(`pstatus.${f.status}`), ' · ', h('span', { class: 'muted' }, dateTime(f.joined_at)))))
          : h('p', { class: 'muted' }, t('sh.noFriends'))))));
}

// The shopper's other lists, one tap apart.
export function meNav(here) {
  const link = (key, href) => h('a', { href, class: key === here ? 'tab current' : 'tab',
    'aria-current': key === here ? 'page' : null }, t(`mine.${key}`));
  return h('nav', { class: 'tabs mine-nav', 'aria-label': t('mine.label') },
    link('orders', '#/orders'), link('shares', '#/me/shares'), link('waitlist', '#/me/waitlist'),
    link('questions', '#/me/questions'), link('complaints', '#/me/complaints'));
}

// ---- the waitlist ---------------------------------------------------------

// The campaigns this page saw the shopper wait for: their page looks for
// the shopper's participation on each of their events, since the unit that
// frees up may be the one that ends the wait.
const waiting = new Set();
export const waitsFor = (cid) => waiting.has(cid);
export const stopWaiting = (cid) => { waiting.delete(cid); };

// The shopper's waiting entry for campaign cid, or null; an entry promoted
// since the page last looked is reported once (the page then shows the
// participation).
const reported = new Set();
async function myEntry(cid, promoted) {
  const all = await allPages('/v1/me/waitlist');
  const fresh = all.find((w) => w.campaign_id === cid && w.status === 'promoted' && !reported.has(w.id));
  if (fresh && promoted) {
    reported.add(fresh.id);
    promoted(fresh);
  }
  return all.find((w) => w.campaign_id === cid && w.status === 'waiting') || null;
}

function leaveButton(w, done, result) {
  return h('button', { type: 'button', class: 'secondary leave-waitlist', onclick: async (e) => {
    e.target.disabled = true;
    try {
      await api.del(`/v1/waitlist/${w.id}`);
      done();
    } catch (err) {
      const why = explain(err, 'waitlist');
      if (why !== null) { result.textContent = why; focusOn(result); }
      e.target.disabled = false;
    }
  } }, t('wl.leave'));
}

// Inside the sold-out state: queue for units that free up, or my place in
// the queue and leaving it. opts.promoted() runs when the entry became a
// participation (checked every few seconds while waiting).
export function waitlistBox(c, opts = {}) {
  const box = h('div', { class: 'waitlist' });
  let timer = null;
  const result = h('p', { class: 'result', role: 'status' });

  function showWaiting(w, focus) {
    waiting.add(c.id);
    const line = h('p', { class: 'wl-position' }, t('wl.position', { n: w.position, q: w.quantity }));
    fill(box, line, h('p', { class: 'muted' }, t('wl.how')),
      leaveButton(w, () => { waiting.delete(c.id); toast(t('wl.left')); showForm(true); }, result), result);
    if (focus) focusOn(line);
    clearInterval(timer);
    timer = setInterval(async () => {
      if (!box.isConnected) { clearInterval(timer); return; }
      const all = await allPages('/v1/me/waitlist').catch(() => null);
      const now = all && all.find((x) => x.id === w.id);
      if (!now) return;
      if (now.status === 'waiting') {
        line.textContent = t('wl.position', { n: now.position, q: now.quantity });
        return;
      }
      clearInterval(timer);
      reported.add(now.id);
      waiting.delete(c.id);
      if (now.status === 'promoted') {
        toast(t('wl.promoted'));
        if (opts.promoted) opts.promoted(now);
      } else {
        fill(box, h('p', { class: 'wl-ended' }, t(`wl.status.${now.status}`),
          now.reason ? ` (${t('wl.reason')}: ${now.reason})` : ''));
      }
    }, 3000);
  }

  function showForm(focus) {
    clearInterval(timer);
    if (!session.me) {
      fill(box, h('a', { class: 'button primary', href: `#${loginPath()}` }, t('wl.loginToWait')));
      return;
    }
    const max = Math.max(1, c.per_customer_limit || 1);
    const qty = h('input', { id: 'wl-qty', name: 'quantity', type: 'number', min: '1', max: String(max), value: '1',
      inputmode: 'numeric' });
    const points = c.fulfilment === 'pickup' ? (c.pickup_points || []) : [];
    const where = points.length ? h('fieldset', { class: 'points', 'data-field': 'pickup_point_id' },
      h('legend', {}, t('j.point')),
      points.map((pt, i) => h('label', { class: 'point' },
        h('input', { type: 'radio', name: 'wl_point', value: String(pt.id), checked: i === 0 }),
        h('span', { class: 'point-text' }, h('strong', {}, pt.name), h('span', {}, pt.address))))) : null;
    const form = h('form', { class: 'waitlist-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const body = { quantity: Math.min(max, Math.max(1, parseInt(qty.value, 10) || 1)) };
      const pt = form.querySelector('input[name=wl_point]:checked');
      if (pt) body.pickup_point_id = Number(pt.value);
      const send = form.querySelector('button[type=submit]');
      send.disabled = true;
      try {
        const w = await api.post(`/v1/campaigns/${c.id}/waitlist`, withShareCode(c.id, body));
        toast(t('wl.queued'));
        showWaiting(w, true);
      } catch (err) {
        if (err.code === 'invalid_field' && err.field === 'share_code') dropShareCode(c.id);
        const why = explain(err, 'waitlist');
        if (why !== null) focusOn(showError(form, err, why));
      } finally {
        send.disabled = false;
      }
    } },
    h('div', { class: 'field', 'data-field': 'quantity' }, h('label', { for: 'wl-qty' }, t('c.quantity')), qty),
    where,
    h('button', { type: 'submit', class: 'primary join-waitlist' }, t('wl.join')));
    fill(box, h('p', {}, t('wl.offer')), form);
    if (focus) focusOn(box.querySelector('p'));
  }

  if (session.me) {
    fill(box, h('p', { class: 'muted' }, t('loading')));
    myEntry(c.id, opts.promoted).then((w) => (w ? showWaiting(w, false) : showForm(false)), () => showForm(false));
  } else {
    showForm(false);
  }
  return box;
}

// ---- 我的候补 ----------------------------------------------------------

export async function myWaitlistPage(params, ctx = { alive: () => true }) {
  if (!session.me) { go(loginPath()); return; }
  const title = t('wl.mine');
  let items;
  try {
    items = await allPages('/v1/me/waitlist');
  } catch (err) {
    if (ctx.alive()) pageError(title, err, () => myWaitlistPage(params, ctx));
    return;
  }
  if (!ctx.alive()) return;
  const result = h('p', { class: 'result', role: 'status' });
  mount(main, h('h1', {}, title), meNav('waitlist'), result,
    items.length === 0
      ? h('p', { class: 'empty', role: 'status' }, t('wl.none'))
      : h('ul', { class: 'mine' }, items.slice().reverse().map((w) => h('li', { class: 'mine-item wl-item', 'data-entry': w.id },
        h('h2', {}, h('a', { href: `#/c/${w.campaign_id}` }, w.campaign_title)),
        h('p', {}, w.status === 'waiting'
          ? t('wl.position', { n: w.position, q: w.quantity })
          : [t(`wl.status.${w.status}`), w.reason ? ` (${t('wl.reason')}: ${w.reason})` : '']),
        w.status === 'promoted' ? h('a', { class: 'tap', href: '#/orders' }, t('me.open')) : null,
        w.status === 'waiting'
          ? leaveButton(w, () => { toast(t('wl.left')); myWaitlistPage(params, ctx); }, result) : null))));
}
