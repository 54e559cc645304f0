// admin/customers.js - the distributor's customers by display name and
// masked login (the server masks: DESIGN.md "Privacy between
// distributors"), searched on the server (a name, a whole phone or e-mail,
// an id) and paged by cursor; one customer: the score, what they did in
// this distributor's campaigns, the VIP level.
import { t } from '../lib/i18n.js';
import { h, fill, mount, money, dateTime } from '../lib/ui.js';
import { api, main, can, toast, form, empty, word, hashQuery } from './shell.js';
import { show } from './shell.js';

const PAGE = 25;

async function customersPage({ ctx }) {
  const q = hashQuery().get('q') || '';
  const afters = (hashQuery().get('pages') || '').split(',').filter(Boolean); // cursors of the pages before
  const after = afters.length ? afters[afters.length - 1] : '';
  const page = await api.get(`/v1/admin/customers?limit=${PAGE}${after ? `&after=${after}` : ''}${q ? `&q=${encodeURIComponent(q)}` : ''}`);
  const go = (query, pages) => ctx.go(`/customers?q=${encodeURIComponent(query)}${pages.length ? `&pages=${pages.join(',')}` : ''}`);
  const search = form({ class: 'toolbar search-form', role: 'search' }, async (f) => go(f.get('q').trim(), []),
    h('label', { for: 'cu-q' }, t('cu.search')),
    h('input', { type: 'search', id: 'cu-q', name: 'q', value: q, placeholder: t('cu.searchHint') }),
    h('button', { type: 'submit', class: 'secondary' }, t('f.show')));
  const body = page.items.length === 0
    ? empty(q ? t('cu.noMatch', { q }) : t('cu.none'), q ? h('a', { href: '#/customers' }, t('ad.showAll'))
      : h('a', { href: '#/' }, t('a.campaigns')))
    : [h('table', { class: 'grid' },
      h('caption', { class: 'sr-only' }, t('cu.title')),
      h('thead', {}, h('tr', {}, [t('cu.completed'), t('cu.name'), t('cu.login'), t('cu.joins'), t('a.vip'), t('cu.last')]
        .map((x, i) => h('th', { scope: 'col', class: [0, 3, 4].includes(i) ? 'num' : null }, x)))),
      h('tbody', {}, page.items.map((x) => h('tr', {},
        h('td', { class: 'num' }, x.completed),
        h('td', {}, h('a', { href: `#/customers/${x.customer.id}` }, x.customer.display_name)),
        h('td', {}, x.customer.login),
        h('td', { class: 'num' }, x.participations),
        h('td', { class: 'num' }, x.vip_level),
        h('td', {}, dateTime(x.last_joined_at)))))),
    h('nav', { class: 'pager', 'aria-label': t('ad.pages') },
      h('button', { type: 'button', class: 'secondary prev', disabled: afters.length === 0,
        onclick: () => go(q, afters.slice(0, -1)) }, t('ad.prev')),
      h('button', { type: 'button', class: 'secondary next', disabled: !page.next_after,
        onclick: () => go(q, [...afters, page.next_after]) }, t('ad.next')))];
  show(ctx, h('h1', {}, t('cu.title')), h('p', { class: 'hint' }, t('cu.privacy')), search, body);
}

async function customerPage({ id, ctx }) {
  const data = await api.get(`/v1/admin/customers/${id}`);
  const r = data.reliability;
  const vip = h('select', { id: 'vip', name: 'vip_level' }, [0, 1, 2, 3].map((v) => h('option', { value: v, selected: v === r.vip_level }, `VIP ${v}`)));
  const score = h('p', { class: 'big-number' });
  const drawScore = (rel) => fill(score, t('a.scoreIs', { score: rel.score, p: Math.round(rel.p_complete * 100) }));
  drawScore(r);
  const vipForm = form({ class: 'inline-form' }, async () => {
    const res = await api.put(`/v1/admin/customers/${id}/vip`, { vip_level: Number(vip.value) });
    drawScore(res.reliability);
    toast(t('a.saved'));
  }, h('div', { class: 'field', 'data-field': 'vip_level' }, h('label', { for: 'vip' }, t('a.vip')), vip),
  h('button', { type: 'submit', class: 'primary' }, t('a.save')));
  const ev = ['completed', 'withdrawn', 'defaulted', 'deposit_expired'];
  show(ctx, h('h1', {}, data.customer.display_name),
    h('p', { class: 'muted' }, data.customer.login, ' · #', data.customer.id),
    score, h('p', { class: 'hint' }, t('cu.scoreHint')),
    h('h2', {}, t('cu.here')),
    h('table', { class: 'grid stats' },
      h('thead', {}, h('tr', {}, ev.map((k) => h('th', { scope: 'col', class: 'num' }, t(`a.ev.${k}`))))),
      h('tbody', {}, h('tr', {}, ev.map((k) => h('td', { class: 'num' }, r.events[k]))))),
    vipForm,
    h('h2', {}, t('cu.history')),
    data.history.length === 0 ? empty(t('cu.noHistory')) : h('table', { class: 'grid' },
      h('caption', { class: 'sr-only' }, t('cu.history')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('f.campaign')), h('th', { scope: 'col', class: 'num' }, t('me.quantity')),
        h('th', { scope: 'col', class: 'num' }, t('me.unitPrice')), h('th', { scope: 'col' }, t('me.status')),
        h('th', { scope: 'col' }, t('cu.joined')))),
      h('tbody', {}, data.history.map((x) => h('tr', {},
        h('td', {}, h('a', { href: `#/campaigns/${x.campaign_id}` }, x.campaign_title), ' ',
          h('span', { class: 'muted' }, word('status', x.campaign_status))),
        h('td', { class: 'num' }, x.quantity),
        h('td', { class: 'num' }, money(x.unit_price_cents)),
        h('td', {}, word('pstatus', x.status)),
        h('td', {}, dateTime(x.created_at)))))),
    h('p', {}, h('a', { href: '#/customers' }, t('cu.back'))));
}

export default {
  routes: {
    '/customers': { page: customersPage, allowed: can.operate },
    '/customers/:id': { page: customerPage, allowed: can.operate },
  },
  nav: { href: '#/customers', label: 'cu.title', order: 60, allowed: can.operate,
    match: (p) => p.startsWith('/customers') },
};
