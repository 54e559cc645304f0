// admin/audience.js - a campaign's audience (API.md "Audience and
// invitations"): the distributor's customers best placed to join, each
// with the reason, score and what they did here before; ticked ones are
// invited (one campaign.invitation event each, the distributor's SMS or
// WeChat sender listens); and the invitation report: invited, joined,
// completed, conversion.
import { t } from '../lib/i18n.js';
import { h, fill, mount } from '../lib/ui.js';
import { api, main, can, toast, errorText, empty, customerLabel } from './shell.js';
import { show } from './shell.js';

function reportBox(rep) {
  const pct = Math.round((rep.conversion || 0) * 1000) / 10;
  return h('dl', { class: 'figures' },
    h('div', {}, h('dt', {}, t('aud.invited')), h('dd', { class: 'invited' }, rep.invited)),
    h('div', {}, h('dt', {}, t('aud.joined')), h('dd', {}, rep.joined)),
    h('div', {}, h('dt', {}, t('aud.completed')), h('dd', {}, rep.completed)),
    h('div', {}, h('dt', {}, t('aud.conversion')), h('dd', {}, `${pct}%`)));
}

// The server's reason ("bought this product before; p_complete 0.91; 3
// completed") in words.
export function reasonText(a) {
  const parts = [];
  if (a.bought_product_before) parts.push(t('aud.boughtBefore'));
  parts.push(t('aud.likely', { pct: Math.round(a.p_complete * 100) }));
  parts.push(t('aud.completedHere', { n: a.completed }));
  return parts.join('；');
}

async function audiencePage({ id, ctx }) {
  const [c, aud, rep] = await Promise.all([
    api.get(`/v1/admin/campaigns/${id}`),
    api.get(`/v1/admin/campaigns/${id}/audience?limit=200`),
    api.get(`/v1/admin/reports/invitations?campaign_id=${id}`),
  ]);
  const report = h('section', { 'aria-label': t('aud.report') }, h('h2', {}, t('aud.report')), reportBox(rep));
  const selectAll = h('input', { type: 'checkbox', id: 'aud-all', onchange: (e) => {
    list.querySelectorAll('input[name=customer]').forEach((x) => { x.checked = e.target.checked; });
  } });
  const list = h('tbody', {}, aud.items.map((a) => h('tr', {},
    h('td', {}, h('input', { type: 'checkbox', name: 'customer', value: a.customer.id, id: `aud-${a.customer.id}`,
      'aria-label': customerLabel(a.customer) })),
    h('td', { class: 'num' }, a.score),
    h('td', {}, h('a', { href: `#/customers/${a.customer.id}` }, customerLabel(a.customer))),
    h('td', { class: 'reason' }, reasonText(a)))));
  const invite = h('button', { type: 'button', class: 'primary invite', onclick: async () => {
    const ids = [...list.querySelectorAll('input[name=customer]:checked')].map((x) => Number(x.value));
    if (ids.length === 0) { toast(t('aud.pickSome')); return; }
    invite.disabled = true;
    try {
      const r = await api.post(`/v1/admin/campaigns/${id}/invitations`, { customer_ids: ids });
      toast(t('aud.sent', { n: r.invited }));
      fill(report, h('h2', {}, t('aud.report')),
        reportBox(await api.get(`/v1/admin/reports/invitations?campaign_id=${id}`)));
    } catch (err) { toast(errorText(err)); } finally { invite.disabled = false; }
  } }, t('aud.inviteSelected'));
  show(ctx, h('h1', {}, t('aud.titleOf', { title: c.title })),
    h('p', {}, h('a', { href: `#/campaigns/${id}` }, t('aud.back'))),
    report,
    h('h2', {}, t('aud.title')),
    aud.items.length === 0 ? empty(t('aud.none'), h('a', { href: '#/customers' }, t('cu.title'))) : [
      h('p', { class: 'hint' }, t('aud.hint')),
      h('table', { class: 'grid' },
        h('caption', { class: 'sr-only' }, t('aud.title')),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, h('label', { for: 'aud-all', class: 'check' }, selectAll, h('span', { class: 'sr-only' }, t('aud.all')))),
          h('th', { scope: 'col', class: 'num' }, t('a.score')),
          h('th', { scope: 'col' }, t('a.customer')),
          h('th', { scope: 'col' }, t('aud.reason')))),
        list),
      h('div', { class: 'toolbar' }, invite)]);
}

export default {
  routes: { '/campaigns/:id/audience': { page: audiencePage, allowed: can.operate } },
};
