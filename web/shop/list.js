// shop/list.js - the campaign list: open campaigns first, then those about
// to start (即将开始, with their start time), at most 50 cards a page
// (the most one live stream follows). Every card moves live on ONE event
// stream for the whole page (/v1/campaigns/events?ids=...), never one
// connection per card; while that stream is down the cards say they are
// stale.
import { t } from '../lib/i18n.js';
import { h, fill, mount, watchCampaigns } from '../lib/ui.js';
import { api, main, query, pageError } from './shell.js';
import { cardLive, clockText } from './cards.js';

const PAGE = 50;

function card(c) {
  const live = h('div', { class: 'card-live' }, cardLive(c));
  const el = h('li', { class: `card s-${c.status}`, 'data-campaign': String(c.id) },
    h('div', { class: 'pic', 'aria-hidden': 'true' }, (c.product?.name || c.title).slice(0, 1)),
    h('div', { class: 'card-body' },
      h('h2', {}, h('a', { href: `#/c/${c.id}` }, c.title)),
      c.product?.name ? h('p', { class: 'muted product' }, c.product.name) : null,
      live));
  return { el, live, c };
}

// One page: the open campaigns after oa, then, when they run out, the
// scheduled ones after sa; the link to the next page carries both.
async function load(q) {
  const phase = q.get('phase') === 'scheduled' ? 'scheduled' : 'open';
  const after = Number(q.get('after')) || 0;
  const items = [];
  let next = null;
  if (phase === 'open') {
    const open = await api.get(`/v1/campaigns?status=open&limit=${PAGE}${after ? `&after=${after}` : ''}`);
    items.push(...open.items);
    if (open.next_after) next = { phase: 'open', after: open.next_after };
  }
  if (!next) {
    const room = PAGE - items.length;
    const from = phase === 'scheduled' ? after : 0;
    if (room > 0) {
      const soon = await api.get(`/v1/campaigns?status=scheduled&limit=${room}${from ? `&after=${from}` : ''}`);
      items.push(...soon.items);
      if (soon.next_after) next = { phase: 'scheduled', after: soon.next_after };
    } else {
      const soon = await api.get('/v1/campaigns?status=scheduled&limit=1');
      if (soon.items.length) next = { phase: 'scheduled', after: 0 };
    }
  }
  return { items, next };
}

export async function listPage(params, ctx = { alive: () => true }) {
  const title = t('shop.listTitle');
  mount(main, h('h1', {}, title), h('p', { class: 'muted' }, t('loading')));
  let data;
  try {
    data = await load(query());
  } catch (err) {
    if (ctx.alive()) pageError(title, err, () => listPage(params, ctx));
    return undefined;
  }
  if (!ctx.alive()) return undefined;
  const cards = data.items.map(card);
  const byId = new Map(cards.map((k) => [k.c.id, k]));
  const stale = h('p', { class: 'stale-note', role: 'status', hidden: true }, t('live.stale'));
  const open = cards.filter((k) => k.c.status !== 'scheduled');
  const soon = cards.filter((k) => k.c.status === 'scheduled');
  const nextLink = data.next
    ? h('p', {}, h('a', { class: 'button', href: `#/?phase=${data.next.phase}&after=${data.next.after}` }, t('shop.nextPage')))
    : null;
  mount(main, h('h1', {}, title), stale,
    cards.length === 0 ? h('p', { class: 'muted empty' }, t('shop.none')) : null,
    open.length ? h('ul', { class: 'cards' }, open.map((k) => k.el)) : null,
    soon.length ? [h('h2', { class: 'section' }, t('shop.soonTitle')),
      h('ul', { class: 'cards soon' }, soon.map((k) => k.el))] : null,
    nextLink);

  const tick = setInterval(() => {
    for (const k of cards) {
      const el = k.live.querySelector('.clock');
      if (el) el.textContent = clockText(k.c);
    }
  }, 1000);
  const close = watchCampaigns(cards.map((k) => k.c.id), (ev) => {
    const k = byId.get(ev.campaign_id);
    if (!k) return;
    k.c.progress = ev.progress;
    k.c.status = ev.status;
    k.el.className = `card s-${ev.status}`;
    fill(k.live, cardLive(k.c));
  }, (live) => {
    stale.hidden = live;
    main.querySelectorAll('.cards').forEach((ul) => ul.classList.toggle('stale', !live));
  });
  return () => { clearInterval(tick); close(); };
}
