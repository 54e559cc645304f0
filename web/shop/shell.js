// shop/shell.js - what every page of the shoppers' app shares: the API
// door with its hooks, who is logged in, the banner shown while the
// server cannot be reached, the toast, and the way an expired session
// goes to the login page and comes back.
import { makeApi } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { h, fill, errorText, money } from '../lib/ui.js';

export const main = document.getElementById('main');

export const session = { me: null };
const listeners = { session: [], reachable: [] };

export function onSessionChange(fn) { listeners.session.push(fn); }
export function onReachable(fn) { listeners.reachable.push(fn); }

// ---- where the user is ------------------------------------------------

export function currentPath() {
  return (location.hash || '#/').slice(1) || '/';
}

export function go(path) {
  if (currentPath() === path) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = '#' + path;
}

export function query() {
  const q = currentPath().split('?')[1] || '';
  return new URLSearchParams(q);
}

// The login page, then back to where the user was (?next=).
export function loginPath(reason) {
  const here = currentPath();
  const next = here.startsWith('/login') || here.startsWith('/register') ? '/' : here;
  const q = new URLSearchParams({ next });
  if (reason) q.set('why', reason);
  return `/login?${q}`;
}

// ---- the API, and what its hooks do ------------------------------------

let unreachable = false;
let probe = null;

export const api = makeApi('gb.shop.token', {
  onUnauthorized() {
    // expired or revoked: nobody is logged in any more, wherever this was
    // noticed; the page that needed the session sends the user to log in
    session.me = null;
    listeners.session.forEach((f) => f());
  },
  onNetwork() { setUnreachable(true); },
  onReachable() { setUnreachable(false); },
});

export function setMe(me) {
  session.me = me;
  listeners.session.forEach((f) => f());
}

export async function loadMe() {
  let me = null;
  if (api.loggedIn()) me = await api.get('/v1/me').catch(() => null);
  setMe(me);
  return me;
}

// ---- the server cannot be reached ---------------------------------------

// The banner says so, with a retry; the server is probed every few
// seconds meanwhile, and when it answers again the banner goes and the
// pages that failed to load run again (onReachable).
function setUnreachable(on) {
  if (on === unreachable) return;
  unreachable = on;
  const el = document.getElementById('banner');
  if (on) {
    fill(el, h('p', {}, t('net.down')),
      h('button', { type: 'button', class: 'retry', onclick: () => retryNow() }, t('net.retry')));
    el.hidden = false;
    clearInterval(probe);
    probe = setInterval(() => ping(), 3000);
  } else {
    el.hidden = true;
    fill(el);
    clearInterval(probe);
    probe = null;
    listeners.reachable.forEach((f) => f());
  }
}

async function ping() {
  try {
    const r = await fetch('/healthz', { cache: 'no-store' });
    if (r.ok) setUnreachable(false);
  } catch { /* still down */ }
}

async function retryNow() {
  const el = document.getElementById('banner');
  const b = el.querySelector('button');
  if (b) b.disabled = true;
  await ping();
  if (unreachable && b) {
    b.disabled = false;
    b.focus();
  }
}

export function isUnreachable() { return unreachable; }

// ---- messages ----------------------------------------------------------

export function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('show'), 4000);
}

// What to do with an error of an action or a page load: an expired
// session goes to login (and comes back); anything else is said in the
// user's language. Returns the text, or null when it navigated away.
export function explain(err, scope) {
  if (err.status === 401) {
    go(loginPath('expired'));
    return null;
  }
  return errorText(err, scope);
}

// A page that could not load: its title, why, and a retry.
export function pageError(title, err, retry) {
  const why = explain(err);
  if (why === null) return;
  const again = () => retry();
  const box = h('div', { class: 'page-error', role: 'alert' },
    h('p', {}, why),
    h('button', { type: 'button', class: 'retry', onclick: again }, t('net.retry')));
  fill(main, h('h1', {}, title), box);
  main.querySelector('h1').tabIndex = -1;
  // back by itself once the server answers again
  if (err.code === 'network') pendingRetry = again;
}

let pendingRetry = null;
onReachable(() => {
  const f = pendingRetry;
  pendingRetry = null;
  if (f && main.querySelector('.page-error')) f();
});

// ---- campaigns, read once per page ------------------------------------

const campaignCache = new Map();
export function campaignOf(id, fresh = false) {
  if (fresh || !campaignCache.has(id)) {
    campaignCache.set(id, api.get(`/v1/campaigns/${id}`).catch((e) => {
      campaignCache.delete(id);
      if (e.status === 404) return null;
      throw e;
    }));
  }
  return campaignCache.get(id);
}
export function forgetCampaigns() { campaignCache.clear(); }

// All pages of a list route (?limit=200&after=), for the shopper's own
// participations and orders.
export async function allPages(path) {
  const items = [];
  let after = null;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api.get(`${path}${sep}limit=200${after ? `&after=${after}` : ''}`);
    items.push(...page.items);
    if (!page.next_after) return items;
    after = page.next_after;
  }
}

// ---- money the shopper owes --------------------------------------------

// The deposit band of a score: the one with the highest min_score at or
// below it (DESIGN.md "Deposit"); percent 0 when none applies.
export function depositPercent(c, score) {
  const bands = (c.deposit_policy || []).filter((b) => b.min_score <= score);
  if (bands.length === 0) return 0;
  return bands.reduce((a, b) => (b.min_score > a.min_score ? b : a)).deposit_percent;
}

// ceil(first tier's price x quantity x percent / 100), in integers.
export function depositCents(c, quantity, percent) {
  const first = c.tiers[0]?.unit_price_cents || 0;
  const base = first * quantity * percent;
  return Math.floor((base + 99) / 100);
}

export const fmt = money;
