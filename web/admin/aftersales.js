// admin/aftersales.js - the after-sales queue (售后): the requests by
// status, pending first; owner and operator approve (the amount, at most
// what was paid less what was refunded, and the units taken back) or
// reject with a note; finance reads. An approval refunds at once, and a
// settled campaign gets an adjustment line (the finance screen shows it).
import { t } from '../lib/i18n.js';
import { h, mount, money, dateTime } from '../lib/ui.js';
import { api, main, can, toast, field, form, cents, yuan, fetchAll, dataTable, empty, badge, hashQuery,
  customerLabel } from './shell.js';
import { show } from './shell.js';

const STATUSES = ['pending', 'approved', 'rejected'];

function decideForms(a, done) {
  const approve = form({ class: 'row-form approve' }, async (f) => {
    await api.post(`/v1/admin/after-sales/${a.id}/approve`, {
      amount_cents: cents(f.get('amount_cents')), returned_quantity: Number(f.get('returned_quantity')),
    });
    toast(t('aas.approved', { id: a.id }));
    done();
  },
  field('amount_cents', t('aas.amount'), h('input', { id: `as-amount-${a.id}`, type: 'number', step: '0.01', min: '0.01',
    required: true, value: yuan(a.amount_cents) })),
  field('returned_quantity', t('aas.returned'), h('input', { id: `as-returned-${a.id}`, type: 'number', min: '0',
    required: true, value: a.quantity })),
  h('button', { type: 'submit', class: 'primary' }, t('aas.approve')));
  const reject = form({ class: 'row-form reject' }, async (f) => {
    await api.post(`/v1/admin/after-sales/${a.id}/reject`, f.get('note') ? { note: f.get('note') } : {});
    toast(t('aas.rejected', { id: a.id }));
    done();
  },
  field('note', t('aas.note'), h('input', { id: `as-note-${a.id}` })),
  h('button', { type: 'submit', class: 'danger' }, t('aas.reject')));
  return [approve, reject];
}

async function afterSalesPage({ ctx }) {
  const status = hashQuery().get('status') ?? 'pending';
  const items = await fetchAll('/v1/admin/after-sales' + (status ? `?status=${status}` : ''));
  const tabs = h('nav', { class: 'tabs', 'aria-label': t('a.filterStatus') },
    [...STATUSES, ''].map((s) => h('a', { href: `#/after-sales?status=${s}`, 'aria-current': s === status ? 'page' : null },
      s ? t(`aas.status.${s}`) : t('a.all'))));
  const again = () => ctx.run();
  show(ctx, h('h1', {}, t('aas.title')), tabs,
    dataTable(items, {
      id: 'after-sales',
      caption: t('aas.title'),
      columns: [{ label: t('aas.asked'), num: true }, { label: t('a.customer') }, { label: t('f.campaign') },
        { label: t('aas.reason') }, { label: t('a.status') }, { label: t('ful.action') }],
      text: (a) => `${a.id} ${a.order_id} ${a.reason} ${a.customer?.display_name || ''} ${a.campaign_title || ''}`,
      empty: empty(status === 'pending' ? t('aas.nonePending') : t('aas.none'),
        status === 'pending' ? null : h('a', { href: '#/after-sales?status=pending' }, t('aas.toPending'))),
      row: (a) => h('tr', { 'data-request': a.id },
        h('td', { class: 'num' }, h('strong', {}, money(a.amount_cents)), h('br'),
          h('span', { class: 'muted' }, t('aas.units', { n: a.quantity }))),
        h('td', {}, a.customer ? h('a', { href: `#/customers/${a.customer_id}` }, customerLabel(a.customer)) : `#${a.customer_id}`,
          h('br'), h('span', { class: 'muted' }, t('aas.order', { id: a.order_id }), ' · ', dateTime(a.created_at))),
        h('td', {}, h('a', { href: `#/campaigns/${a.campaign_id}` }, a.campaign_title || `#${a.campaign_id}`)),
        h('td', {}, a.reason),
        h('td', {}, badge('aas.status', a.status),
          a.status === 'approved' ? [h('br'), t('aas.refunded', { amount: money(a.approved_cents), n: a.returned_quantity })] : null,
          a.note ? [h('br'), h('span', { class: 'muted' }, a.note)] : null),
        h('td', {}, a.status === 'pending' && can.operate() ? decideForms(a, again) : '')),
    }));
}

export default {
  routes: { '/after-sales': { page: afterSalesPage, allowed: can.any } },
  nav: { href: '#/after-sales', label: 'aas.title', order: 50, allowed: can.any },
};
