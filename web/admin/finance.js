// admin/finance.js - finance's screens: a period's settlements and one
// settlement.
//
// The period's table holds exactly the rows of that period's CSV export
// (API.md "Settlements and exports"): each campaign settled in the period
// with its figures at settlement ("settled_totals", the sums of its
// lines), and under its campaign every adjustment (an after-sales refund
// approved after settlement) made in the period, dated at its approval, as
// its own row; a campaign settled earlier whose adjustment falls in the
// period is shown as a heading with its adjustments only. Every part of
// the split has a column (commission, manufacturer, 团长佣金, distributor
// net), so the totals row is the CSV's column sums to the cent. Each row
// reconciles on its own: received - refunded (a settlement's at
// settlement; an adjustment's refund) against the split, a ✓ or the
// difference in red; the totals row the same on the sums.
import { t } from '../lib/i18n.js';
import { h, mount, money, dateTime } from '../lib/ui.js';
import { main, can, toast, errorText, field, fetchAll, empty, download, hashQuery, localDate, dayStart,
  word, api } from './shell.js';
import { show } from './shell.js';

export const SPLIT = ['commission_cents', 'manufacturer_cents', 'leader_commission_cents', 'distributor_net_cents'];
export const MONEY = ['gross_cents', 'forfeited_cents', ...SPLIT];

// received - refunded - split: 0 when the figures reconcile.
export function difference(x) {
  return (x.received_cents - x.refunded_cents) - SPLIT.reduce((s, k) => s + (x[k] || 0), 0);
}

export function reconciliation(x) {
  const diff = difference(x);
  return diff === 0 ? h('span', { class: 'ok' }, '✓ ', t('f.reconciled'))
    : h('span', { class: 'bad' }, t('f.diff', { amount: money(diff) }));
}

// An adjustment line as a row's figures: a refund and nothing received.
export function adjustmentFigures(a) {
  return { ...a, quantity: 0, forfeited_cents: 0, received_cents: 0, refunded_cents: a.refunded_cents ?? -a.gross_cents };
}

// The rows of a period: [{campaign, settlement (or null: settled
// before), adjustments}], by settlement date then campaign.
export function periodGroups(settlements, adjustments) {
  const groups = new Map();
  for (const s of settlements) {
    groups.set(s.campaign_id, { id: s.campaign_id, title: s.campaign_title, settledAt: s.settled_at, settlement: s, adjustments: [] });
  }
  for (const a of adjustments) {
    if (!groups.has(a.campaign_id)) {
      groups.set(a.campaign_id, { id: a.campaign_id, title: a.campaign_title, settledAt: a.settled_at, settlement: null, adjustments: [] });
    }
    groups.get(a.campaign_id).adjustments.push(a);
  }
  return [...groups.values()].sort((x, y) => (x.settledAt < y.settledAt ? -1 : x.settledAt > y.settledAt ? 1 : x.id - y.id));
}

// The sums of the period: every row's figures added.
export function periodTotals(groups) {
  const sum = { quantity: 0, returned: 0, received_cents: 0, refunded_cents: 0 };
  MONEY.forEach((k) => { sum[k] = 0; });
  for (const g of groups) {
    const rows = [...(g.settlement ? [g.settlement.settled_totals] : []), ...g.adjustments.map(adjustmentFigures)];
    for (const r of rows) {
      for (const k of [...MONEY, 'received_cents', 'refunded_cents', 'quantity']) sum[k] += r[k] || 0;
    }
    g.adjustments.forEach((a) => { sum.returned += a.returned_quantity; });
  }
  return sum;
}

const COLUMNS = ['quantity', ...MONEY, 'received_cents', 'refunded_cents'];
const cell = (k, v) => h('td', { class: `num c-${k}` }, k === 'quantity' ? v : money(v));

async function financePage({ ctx }) {
  const q = hashQuery();
  const today = new Date();
  const from = q.get('from') || localDate(new Date(today.getFullYear(), today.getMonth(), 1));
  const to = q.get('to') || localDate(today);
  const endDay = new Date(`${to}T00:00:00`);
  endDay.setDate(endDay.getDate() + 1);
  const range = `from=${encodeURIComponent(dayStart(from))}&to=${encodeURIComponent(dayStart(localDate(endDay)))}`;
  const [settlements, adjustments] = await Promise.all([
    fetchAll(`/v1/admin/settlements?${range}`),
    fetchAll(`/v1/admin/settlement-adjustments?${range}`),
  ]);
  const groups = periodGroups(settlements, adjustments);
  const picker = h('form', { class: 'inline-form period', onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(picker);
    ctx.go(`/finance?from=${f.get('from')}&to=${f.get('to')}`);
  } },
  field('from', t('f.from'), h('input', { type: 'date', value: from, required: true })),
  field('to', t('f.to'), h('input', { type: 'date', value: to, required: true })),
  h('button', { type: 'submit', class: 'secondary' }, t('f.show')));
  const bom = h('input', { type: 'checkbox', id: 'bom', checked: true });
  const csv = h('button', { type: 'button', class: 'primary download', onclick: async () => {
    try {
      await download(`/v1/admin/exports/settlements.csv?${range}${bom.checked ? '&bom=1' : ''}`,
        `settlements-${from}-${to}.csv`);
    } catch (err) { toast(errorText(err)); }
  } }, t('f.download'));
  const head = [h('h1', {}, t('a.finance')), picker,
    h('div', { class: 'toolbar' }, csv, h('label', { for: 'bom', class: 'check' }, bom, t('f.bom')))];
  if (groups.length === 0) {
    show(ctx, head, empty(t('fi.none', { from, to }), h('p', { class: 'hint' }, t('fi.noneHint'))));
    return;
  }
  const sum = periodTotals(groups);
  const rows = [];
  for (const g of groups) {
    const title = h('a', { href: `#/finance/${g.id}` }, g.title || `#${g.id}`);
    if (g.settlement) {
      const s = g.settlement.settled_totals;
      rows.push(h('tr', { class: 'settlement', 'data-campaign': g.id },
        h('th', { scope: 'row' }, title), h('td', {}, dateTime(g.settlement.settled_at)),
        COLUMNS.map((k) => cell(k, s[k])), h('td', {}, reconciliation(s))));
    } else {
      rows.push(h('tr', { class: 'settled-before', 'data-campaign': g.id },
        h('th', { scope: 'row' }, title), h('td', { colspan: String(COLUMNS.length + 2), class: 'muted' },
          t('fi.settledBefore', { date: dateTime(g.settledAt) }))));
    }
    for (const a of g.adjustments) {
      const x = adjustmentFigures(a);
      rows.push(h('tr', { class: 'adjustment', 'data-campaign': g.id },
        h('th', { scope: 'row', class: 'indent' }, t('fi.adjustment', { id: a.after_sales_id })),
        h('td', {}, dateTime(a.adjusted_at)),
        h('td', { class: 'num c-quantity' }, a.returned_quantity ? t('fi.returned', { n: a.returned_quantity }) : ''),
        MONEY.map((k) => cell(k, x[k])), cell('received_cents', 0), cell('refunded_cents', x.refunded_cents),
        h('td', {}, reconciliation(x))));
    }
  }
  show(ctx, head,
    h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': t('fi.tableLabel') },
      h('table', { class: 'grid finance' },
        h('caption', { class: 'sr-only' }, t('fi.tableLabel')),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('f.campaign')), h('th', { scope: 'col' }, t('fi.date')),
          COLUMNS.map((k) => h('th', { scope: 'col', class: 'num' }, t(`fi.${k}`))), h('th', { scope: 'col' }, t('f.reconciliation')))),
        h('tbody', {}, rows),
        h('tfoot', {}, h('tr', { class: 'totals' }, h('th', { scope: 'row' }, t('f.total')),
          h('td', {}, t('fi.rows', { n: rows.filter((r) => !r.classList.contains('settled-before')).length })),
          COLUMNS.map((k) => cell(k, sum[k])), h('td', {}, reconciliation(sum)))))),
    sum.returned ? h('p', { class: 'hint' }, t('fi.returnedHint', { n: sum.returned })) : null,
    h('p', { class: 'hint' }, t('fi.csvHint')));
}

async function settlementPage({ id, ctx }) {
  const s = await api.get(`/v1/admin/settlements/${id}`);
  const cols = ['quantity', ...MONEY];
  const line = (l) => h('tr', { class: 'line' }, h('td', {}, `#${l.participation_id}`), h('td', {}, `#${l.customer_id}`),
    h('td', {}, word('pstatus', l.status)), cols.map((k) => cell(k, l[k])));
  const adj = (a) => h('tr', { class: 'adjustment' },
    h('td', {}, t('fi.adjustment', { id: a.after_sales_id })), h('td', {}, `#${a.customer_id}`),
    h('td', {}, dateTime(a.adjusted_at)),
    h('td', { class: 'num c-quantity' }, a.returned_quantity ? t('fi.returned', { n: a.returned_quantity }) : ''),
    MONEY.map((k) => cell(k, k === 'forfeited_cents' ? 0 : a[k])));
  const totalsRow = (label, x, cls) => h('tr', { class: cls }, h('th', { scope: 'row', colspan: '3' }, label),
    cols.map((k) => cell(k, x[k])));
  const now = s.totals;
  show(ctx, h('h1', {}, s.campaign_title || `#${s.campaign_id}`),
    h('p', {}, t('f.unitPrice', { price: money(s.unit_price_cents) }), ' · ', t('fi.commissionBp', { pct: s.commission_bp / 100 }),
      ' · ', t('fi.settledAt', { date: dateTime(s.settled_at) })),
    h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': t('fi.lines') },
      h('table', { class: 'grid finance' },
        h('caption', { class: 'sr-only' }, t('fi.lines')),
        h('thead', {}, h('tr', {}, [t('f.participation'), t('a.customer'), t('me.status'), ...cols.map((k) => t(`fi.${k}`))]
          .map((x, i) => h('th', { scope: 'col', class: i > 2 ? 'num' : null }, x)))),
        h('tbody', {}, s.lines.map(line), s.adjustments.map(adj)),
        h('tfoot', {}, totalsRow(t('fi.atSettlement'), s.settled_totals, 'settled-totals'),
          s.adjustments.length ? totalsRow(t('fi.now'), now, 'totals') : null))),
    h('dl', { class: 'figures' },
      h('div', {}, h('dt', {}, t('fi.received_cents')), h('dd', {}, money(now.received_cents))),
      h('div', {}, h('dt', {}, t('fi.refunded_cents')), h('dd', {}, money(now.refunded_cents))),
      h('div', {}, h('dt', {}, t('fi.split')), h('dd', {}, money(SPLIT.reduce((x, k) => x + now[k], 0)))),
      h('div', {}, h('dt', {}, t('f.reconciliation')), h('dd', { class: 'recon-now' }, reconciliation(now)))),
    h('a', { href: '#/finance' }, t('f.back')));
}

export default {
  routes: {
    '/finance': { page: financePage, allowed: can.finance },
    '/finance/:id': { page: settlementPage, allowed: can.finance },
  },
  nav: { href: '#/finance', label: 'a.finance', order: 70, allowed: can.finance,
    match: (p) => p.startsWith('/finance') },
};
