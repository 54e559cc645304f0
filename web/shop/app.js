// shop/app.js - the shoppers' app (mobile first): campaign list, a
// campaign page that follows the event stream, register and log in, join
// with the deposit and its reason, the sandbox checkout, my group buys.
import { makeApi } from '../lib/api.js';
import { t, getLang, setLang, translateStatic } from '../lib/i18n.js';
import { makeRouter } from '../lib/router.js';
import {
  h, fill, mount, showError, ladder, progressBar, money, dateTime, countdown,
  watchCampaign, langSwitch,
} from '../lib/ui.js';

const api = makeApi('gb.shop.token');
const main = document.getElementById('main');
const nav = document.getElementById('nav');
let me = null;

function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('show'), 4000);
}

async function loadMe() {
  me = null;
  if (api.loggedIn()) me = await api.get('/v1/me').catch(() => null);
  drawNav();
}

function drawNav() {
  fill(nav, 
    h('a', { href: '#/' }, t('nav.campaigns')),
    me ? h('a', { href: '#/me' }, t('nav.mine')) : null,
    me
      ? h('button', { class: 'link', onclick: async () => {
        await api.del('/v1/sessions/current').catch(() => {});
        api.setToken(null);
        await loadMe();
        router.go('/');
      } }, t('nav.logout'))
      : h('a', { href: '#/login' }, t('nav.login')),
    langSwitch((l) => { setLang(l); translateStatic(); drawNav(); router.run(); }, getLang()));
}

// ---- campaign card: the three answers at a glance -------------------

function countOf(c) {
  return c.tier_basis === 'quantity' ? c.progress.quantity : c.progress.participants;
}

function liveFacts(c) {
  const p = c.progress;
  const unit = c.tier_basis === 'quantity' ? 'units' : 'people';
  const facts = [];
  if (p.next_tier) {
    facts.push(h('p', { class: 'next' }, t(`c.next.${unit}`,
      { n: p.next_tier.needed, price: money(p.next_tier.unit_price_cents) })));
  } else {
    facts.push(h('p', { class: 'next' }, t('c.lowest')));
  }
  const missing = c.min_participants - p.participants;
  if (!p.threshold_reached && missing > 0) {
    facts.push(h('p', { class: 'missing' }, t('c.missing', { n: missing })));
  } else {
    facts.push(h('p', { class: 'reached' }, t('c.reachedThreshold')));
  }
  if (p.remaining_quantity <= Math.max(10, c.max_quantity / 10)) {
    facts.push(h('p', { class: 'scarce' }, t('c.unitsLeft', { n: p.remaining_quantity })));
  }
  return facts;
}

function priceBlock(c) {
  const price = c.final_unit_price_cents ?? c.progress.current_unit_price_cents;
  return h('div', { class: 'price' },
    h('span', { class: 'price-now' }, money(price)),
    c.product ? h('s', { class: 'price-list' }, money(c.product.list_price_cents)) : null);
}

function statusBadge(status) {
  return h('span', { class: `badge s-${status}` }, t(`status.${status}`));
}

function card(c) {
  return h('li', { class: 'card' },
    h('div', { class: 'pic', 'aria-hidden': 'true' }, (c.product?.name || c.title).slice(0, 1)),
    h('div', { class: 'card-body' },
      h('h2', {}, h('a', { href: `#/c/${c.id}` }, c.title)),
      h('p', { class: 'muted' }, c.product?.name || ''),
      priceBlock(c),
      progressBar(c),
      h('p', { class: 'participants' }, t('c.joined', { n: c.progress.participants })),
      ...liveFacts(c),
      statusBadge(c.status)));
}

async function listPage() {
  mount(main, h('h1', {}, t('shop.listTitle')), h('p', { class: 'muted' }, t('loading')));
  const data = await api.get('/v1/campaigns?status=open').catch((e) => e);
  if (data instanceof Error) {
    mount(main, h('h1', {}, t('shop.listTitle')), h('p', { role: 'alert' }, t('err.load')));
    return undefined;
  }
  const list = h('ul', { class: 'cards' }, data.items.map(card));
  mount(main, h('h1', {}, t('shop.listTitle')),
    data.items.length ? list : h('p', { class: 'muted' }, t('shop.none')));
  const closers = data.items.map((c) => watchCampaign(c.id, (ev) => {
    c.progress = ev.progress;
    c.status = ev.status;
    const fresh = card(c);
    const old = list.children[data.items.indexOf(c)];
    if (old) old.replaceWith(fresh);
  }));
  return () => closers.forEach((f) => f());
}

// ---- campaign page ---------------------------------------------------

async function campaignPage({ id }) {
  let c;
  try {
    c = await api.get(`/v1/campaigns/${id}`);
  } catch (e) {
    mount(main, h('h1', {}, t('err.notFound')), h('p', {}, e.message));
    return undefined;
  }
  const live = h('section', { class: 'live', 'aria-live': 'polite' });
  const clock = h('p', { class: 'countdown' });
  const joinBox = h('section', { class: 'join' });

  function drawLive() {
    fill(live, 
      priceBlock(c),
      h('p', { class: 'participants' }, t('c.joined', { n: c.progress.participants }),
        ' · ', t('c.units', { n: c.progress.quantity })),
      progressBar(c),
      ...liveFacts(c),
      ladder(c),
      statusBadge(c.status));
  }
  function tick() {
    clock.textContent = c.status === 'open' || c.status === 'scheduled' ? countdown(c.ends_at) : '';
  }

  mount(main,
    h('article', { class: 'campaign' },
      h('div', { class: 'pic big', 'aria-hidden': 'true' }, (c.product?.name || c.title).slice(0, 1)),
      h('h1', {}, c.title),
      h('p', { class: 'muted' }, c.product?.name || ''),
      c.description ? h('p', {}, c.description) : null,
      clock, live, joinBox,
      h('button', { class: 'secondary', onclick: () => share(c) }, t('c.share'))));
  drawLive();
  tick();
  // the own join shows at once, even before the stream's event arrives
  const refresh = () => api.get(`/v1/campaigns/${c.id}`).then((f) => {
    c.progress = f.progress;
    c.status = f.status;
    drawLive();
  }).catch(() => {});
  drawJoin(c, joinBox, refresh);
  const timer = setInterval(tick, 1000);
  const close = watchCampaign(c.id, (ev) => {
    c.progress = ev.progress;
    c.status = ev.status;
    drawLive();
  });
  return () => { clearInterval(timer); close(); };
}

async function share(c) {
  const url = `${location.origin}/#/c/${c.id}`;
  try {
    await navigator.clipboard.writeText(url);
    toast(t('c.copied'));
  } catch {
    toast(url);
  }
}

function drawJoin(c, box, refresh) {
  if (c.status !== 'open') {
    fill(box, h('p', { class: 'muted' }, t('c.notOpen')));
    return;
  }
  if (!me) {
    fill(box, h('a', { class: 'button', href: `#/login?next=/c/${c.id}` }, t('c.loginToJoin')));
    return;
  }
  const max = Math.max(1, Math.min(c.per_customer_limit, c.progress.remaining_quantity));
  const qty = h('input', { id: 'qty', type: 'number', min: '1', max: String(max), value: '1',
    inputmode: 'numeric' });
  const step = (d) => () => {
    qty.value = String(Math.min(max, Math.max(1, (parseInt(qty.value, 10) || 1) + d)));
  };
  const form = h('form', { class: 'join-form', onsubmit: async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const p = await api.post(`/v1/campaigns/${c.id}/participations`,
        { quantity: parseInt(qty.value, 10) });
      showJoined(c, p, box);
      refresh();
    } catch (err) {
      showError(form, err);
    } finally {
      button.disabled = false;
    }
  } },
  h('div', { class: 'stepper', 'data-field': 'quantity' },
    h('label', { for: 'qty' }, t('c.quantity')),
    h('button', { type: 'button', class: 'step', 'aria-label': t('c.less'), onclick: step(-1) }, '−'),
    qty,
    h('button', { type: 'button', class: 'step', 'aria-label': t('c.more'), onclick: step(1) }, '+'),
    h('span', { class: 'muted' }, t('c.limit', { n: max }))),
  h('button', { type: 'submit', class: 'primary' }, t('c.join')));
  fill(box, form);
}

function depositReason(c, p) {
  if (!p.deposit_cents) return t('j.noDeposit');
  // the deposit is a percentage of the first tier's price (the highest), not
  // of the current one: ceil(first price x quantity x percent / 100)
  const base = p.quantity * (c.tiers[0]?.unit_price_cents || 1);
  const pct = Math.round((p.deposit_cents * 100) / base);
  return t('j.deposit', { score: me?.reliability?.score ?? '—', pct, amount: money(p.deposit_cents) });
}

function showJoined(c, p, box) {
  toast(t('j.done'));
  fill(box, h('div', { class: 'joined', role: 'status' },
    h('p', { class: 'ok' }, t('j.done')),
    h('p', { class: 'reason' }, depositReason(c, p)),
    p.status === 'pending_deposit'
      ? h('p', {}, t('j.payBy', { time: dateTime(p.deposit_due_by) }))
      : null,
    p.status === 'pending_deposit'
      ? h('button', { class: 'primary pay', onclick: () => pay(p) }, t('j.payDeposit', { amount: money(p.amount_due_cents) }))
      : null,
    h('a', { href: '#/me' }, t('nav.mine'))));
}

async function pay(p) {
  try {
    const r = await api.post(`/v1/participations/${p.id}/payments`, {});
    sessionStorage.setItem(`gb.pay.${r.payment.id}`, JSON.stringify(r.payment));
    if (r.checkout_url) {
      location.hash = new URL(r.checkout_url, location.origin).hash;
    } else {
      toast(t('pay.external'));
    }
  } catch (err) {
    toast(err.message);
  }
}

// ---- sandbox checkout ------------------------------------------------

function checkoutPage({ id }) {
  const payment = JSON.parse(sessionStorage.getItem(`gb.pay.${id}`) || 'null');
  const result = h('p', { role: 'status' });
  const decide = (outcome) => async () => {
    main.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    try {
      const r = await api.post(`/v1/sandbox/payments/${id}`, { outcome });
      const ok = r.payment.status === 'succeeded';
      result.textContent = ok ? t('pay.succeeded') : t('pay.failed');
      sessionStorage.removeItem(`gb.pay.${id}`);
      toast(result.textContent);
      setTimeout(() => router.go('/me'), 600);
    } catch (err) {
      result.textContent = err.message;
      main.querySelectorAll('button').forEach((b) => { b.disabled = false; });
    }
  };
  mount(main, h('section', { class: 'checkout' },
    h('h1', {}, t('pay.title')),
    h('p', { class: 'sandbox-note' }, t('pay.sandbox')),
    payment ? h('p', { class: 'amount' }, t(`pay.kind.${payment.kind}`), ' ',
      h('strong', {}, money(payment.amount_cents))) : null,
    h('div', { class: 'actions' },
      h('button', { class: 'primary confirm', onclick: decide('succeeded') }, t('pay.confirm')),
      h('button', { class: 'secondary decline', onclick: decide('failed') }, t('pay.decline'))),
    result));
}

// ---- my group buys ---------------------------------------------------

const campaignCache = new Map();
function campaignOf(id) {
  if (!campaignCache.has(id)) campaignCache.set(id, api.get(`/v1/campaigns/${id}`).catch(() => null));
  return campaignCache.get(id);
}

async function minePage() {
  if (!me) { router.go('/login?next=/me'); return; }
  mount(main, h('h1', {}, t('nav.mine')), h('p', { class: 'muted' }, t('loading')));
  const data = await api.get('/v1/me/participations?limit=200');
  campaignCache.clear();
  const rows = await Promise.all(data.items.slice().reverse().map(async (p) => {
    const c = await campaignOf(p.campaign_id);
    return mineItem(p, c);
  }));
  mount(main, h('h1', {}, t('nav.mine')),
    h('p', { class: 'muted' }, t('me.score', { score: me.reliability?.score ?? '—' })),
    rows.length ? h('ul', { class: 'mine' }, rows) : h('p', { class: 'muted' }, t('me.none')));
}

function mineItem(p, c) {
  const deadline = p.status === 'pending_deposit' ? p.deposit_due_by
    : p.status === 'awaiting_payment' ? p.pay_by : null;
  const actions = [];
  if (p.status === 'pending_deposit') {
    actions.push(h('button', { class: 'primary pay', onclick: () => pay(p) }, t('me.payDeposit')));
  }
  if (p.status === 'awaiting_payment') {
    actions.push(h('button', { class: 'primary pay', onclick: () => pay(p) }, t('me.payBalance')));
  }
  if (c && c.status === 'open' && ['pending_deposit', 'active'].includes(p.status)) {
    actions.push(h('button', { class: 'secondary withdraw', onclick: async () => {
      if (!confirm(t('me.withdrawConfirm'))) return;
      try {
        await api.post(`/v1/participations/${p.id}/withdraw`, {});
        toast(t('me.withdrawn'));
        minePage();
      } catch (err) { toast(err.message); }
    } }, t('me.withdraw')));
  }
  return h('li', { class: 'mine-item', 'data-participation': String(p.id) },
    h('h2', {}, c ? h('a', { href: `#/c/${c.id}` }, c.title) : `#${p.campaign_id}`),
    h('dl', {},
      h('dt', {}, t('me.status')), h('dd', { class: 'status' }, t(`pstatus.${p.status}`)),
      h('dt', {}, t('me.quantity')), h('dd', {}, String(p.quantity)),
      h('dt', {}, t('me.unitPrice')), h('dd', {}, money(p.unit_price_cents)),
      h('dt', {}, t('me.due')), h('dd', { class: 'due' }, money(p.amount_due_cents)),
      deadline ? [h('dt', {}, t('me.deadline')), h('dd', {}, dateTime(deadline))] : null),
    h('div', { class: 'actions' }, actions));
}

// ---- log in and register ---------------------------------------------

function nextOf() {
  const q = location.hash.split('?')[1] || '';
  const n = new URLSearchParams(q).get('next');
  return n && n.startsWith('/') ? n : '/';
}

function field(name, label, attrs) {
  const id = `f-${name}`;
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, label), h('input', { id, name, ...attrs }));
}

function loginPage() {
  const form = h('form', { class: 'auth', onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      const r = await api.post('/v1/sessions', { login: f.get('login'), password: f.get('password') }, { login: true });
      api.setToken(r.token);
      await loadMe();
      router.go(nextOf());
    } catch (err) { showError(form, err); }
  } },
  field('login', t('f.login'), { autocomplete: 'username', required: true }),
  field('password', t('f.password'), { type: 'password', autocomplete: 'current-password', required: true }),
  h('button', { type: 'submit', class: 'primary' }, t('nav.login')));
  mount(main, h('h1', {}, t('nav.login')), form,
    h('p', {}, h('a', { href: `#/register?next=${nextOf()}` }, t('auth.noAccount'))));
}

function registerPage() {
  const form = h('form', { class: 'auth', onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { login: f.get('login'), password: f.get('password'), display_name: f.get('display_name') };
    try {
      await api.post('/v1/customers', body);
      const r = await api.post('/v1/sessions', { login: body.login, password: body.password }, { login: true });
      api.setToken(r.token);
      await loadMe();
      router.go(nextOf());
    } catch (err) { showError(form, err); }
  } },
  field('login', t('f.loginHint'), { autocomplete: 'username', required: true }),
  field('display_name', t('f.displayName'), { autocomplete: 'nickname', required: true }),
  field('password', t('f.password'), { type: 'password', autocomplete: 'new-password', required: true }),
  h('button', { type: 'submit', class: 'primary' }, t('auth.register')));
  mount(main, h('h1', {}, t('auth.register')), form);
}

const strip = (fn) => (params) => fn(params);
const router = makeRouter({
  '/': listPage,
  '/c/:id': campaignPage,
  '/login': loginPage,
  '/login\\?.*': loginPage,
  '/register': registerPage,
  '/register\\?.*': registerPage,
  '/me': minePage,
  '/checkout/:id': strip(checkoutPage),
}, () => mount(main, h('h1', {}, t('err.notFound'))));

translateStatic();
loadMe().then(() => router.run());
