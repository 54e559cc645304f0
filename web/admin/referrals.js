// admin/referrals.js - on a campaign's dashboard: how long its waitlist is
// (customers and units waiting for freed units) and who brought whom
// through share links (拼团 invites), best sharers first, with the friends
// each brought and how many of them paid. Owner and operator.
import { t } from '../lib/i18n.js';
import { h, fill } from '../lib/ui.js';
import { api, can, dataTable, empty } from './shell.js';

export function growthPanel(c) {
  const section = h('section', { class: 'growth', 'aria-labelledby': 'growth-title' });
  if (!can.operate()) return section;
  const s = c.stats || {};
  const waiting = h('p', { class: 'waitlist-length' },
    t('rf.waiting', { n: s.waiting ?? 0, q: s.waiting_quantity ?? 0 }));
  const list = h('div', {}, h('p', { class: 'muted' }, t('loading')));
  fill(section, h('h2', { id: 'growth-title' }, t('rf.title')), waiting, list);
  api.get(`/v1/admin/campaigns/${c.id}/referrals`).then((r) => {
    fill(list, dataTable(r.items, {
      id: 'referrals',
      caption: t('rf.list'),
      columns: [{ label: t('rf.sharer') }, { label: t('rf.joined'), num: true }, { label: t('rf.completed'), num: true }],
      text: (x) => `${x.customer?.display_name || ''} ${x.code}`,
      empty: empty(t('rf.none')),
      row: (x) => h('tr', { 'data-sharer': x.customer?.id },
        h('td', {}, x.customer ? h('a', { href: `#/customers/${x.customer.id}` }, x.customer.display_name) : '—'),
        h('td', { class: 'num' }, x.joined),
        h('td', { class: 'num' }, x.completed)),
    }));
  }, () => fill(list, h('p', { class: 'muted' }, t('err.load'))));
  return section;
}
