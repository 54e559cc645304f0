// admin/campaigns.js - the campaign list: filter by status, search by
// title, pages; the numbers that matter (people in, the price) first.
import { t } from '../lib/i18n.js';
import { h, mount, money, dateTime } from '../lib/ui.js';
import { main, can, fetchAll, dataTable, empty, badge, word, hashQuery } from './shell.js';
import { show } from './shell.js';

export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'open', 'succeeded', 'failed', 'cancelled', 'settled'];

async function campaignsPage({ ctx }) {
  const status = hashQuery().get('status') || '';
  const items = (await fetchAll('/v1/admin/campaigns' + (status ? `?status=${status}` : ''))).reverse();
  const filter = h('select', { id: 'status-filter', onchange: (e) => ctx.go(e.target.value ? `/?status=${e.target.value}` : '/') },
    h('option', { value: '' }, t('a.all')),
    CAMPAIGN_STATUSES.map((s) => h('option', { value: s, selected: s === status }, word('status', s))));
  const newLink = can.operate() ? h('a', { class: 'button primary', href: '#/campaigns/new' }, t('a.newCampaign')) : null;
  const none = status
    ? empty(t('ad.noCampaignsStatus', { status: word('status', status) }), h('a', { href: '#/' }, t('ad.showAll')))
    : empty(t('ad.noCampaigns'), can.operate()
      ? h('a', { class: 'button primary', href: '#/campaigns/new' }, t('a.newCampaign')) : null);
  show(ctx, h('h1', {}, t('a.campaigns')),
    h('div', { class: 'toolbar' }, h('label', { for: 'status-filter' }, t('a.filterStatus')), filter, newLink),
    dataTable(items, {
      id: 'campaigns',
      caption: t('a.campaigns'),
      columns: [{ label: t('a.participants'), num: true }, { label: t('a.title') }, { label: t('a.status') },
        { label: t('a.price'), num: true }, { label: t('a.endsAt') }],
      text: (c) => `${c.title} ${c.id}`,
      empty: none,
      row: (c) => h('tr', {},
        h('td', { class: 'num' }, c.progress ? c.progress.participants : '—'),
        h('td', {}, h('a', { href: `#/campaigns/${c.id}` }, c.title)),
        h('td', {}, badge('status', c.status)),
        h('td', { class: 'num' }, money(c.final_unit_price_cents ?? c.progress?.current_unit_price_cents)),
        h('td', {}, dateTime(c.ends_at))),
    }));
}

export default {
  routes: { '/': { page: campaignsPage } },
  nav: { href: '#/', label: 'a.campaigns', order: 10, allowed: can.any,
    match: (p) => p === '/' || p.startsWith('/campaigns') },
};
