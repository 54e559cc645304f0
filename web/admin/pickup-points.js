// admin/pickup-points.js - the community pickup points (自提点) and their
// leaders (团长): the list, a new point, and a point's edit page (its
// leader, the leader's commission, retiring it). A leader's commission is
// in percent on screen and basis points in the API (3 % = 300).
import { t } from '../lib/i18n.js';
import { h, mount } from '../lib/ui.js';
import { api, main, can, toast, field, form, fetchAll, dataTable, empty } from './shell.js';
import { show } from './shell.js';

// "3.5" (percent) -> 350 (basis points), or NaN.
export function bpOf(percent) {
  const s = String(percent ?? '').trim();
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return NaN;
  const [whole, frac = ''] = s.split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'));
}
export const percentOf = (bp) => `${(bp / 100).toFixed(bp % 100 ? 2 : 0)}%`;

function pointFields(p = {}) {
  return [
    field('name', t('pp.name'), h('input', { required: true, value: p.name ?? '' })),
    field('address', t('pp.address'), h('input', { required: true, value: p.address ?? '' })),
    field('leader_name', t('pp.leader'), h('input', { required: true, value: p.leader_name ?? '' })),
    field('leader_phone', t('pp.leaderPhone'), h('input', { type: 'tel', required: true, value: p.leader_phone ?? '' })),
    field('commission_bp', t('pp.commission'), h('input', { type: 'number', step: '0.01', min: '0', max: '100',
      required: true, value: p.commission_bp === undefined ? '' : p.commission_bp / 100 }), t('pp.commissionHint')),
  ];
}

function body(f) {
  return {
    name: f.get('name'), address: f.get('address'), leader_name: f.get('leader_name'),
    leader_phone: f.get('leader_phone'), commission_bp: bpOf(f.get('commission_bp')),
  };
}

async function pointsPage({ ctx }) {
  const items = await fetchAll('/v1/admin/pickup-points');
  const create = form({ class: 'inline-form', id: 'new-point' }, async (f) => {
    await api.post('/v1/admin/pickup-points', body(f));
    toast(t('a.saved'));
    ctx.run();
  }, pointFields(), h('button', { type: 'submit', class: 'primary' }, t('pp.add')));
  show(ctx, h('h1', {}, t('pp.title')),
    dataTable(items, {
      id: 'points',
      caption: t('pp.title'),
      columns: [{ label: t('pp.name') }, { label: t('pp.address') }, { label: t('pp.leader') },
        { label: t('pp.leaderPhone') }, { label: t('pp.commission'), num: true }, { label: t('a.status') }],
      text: (p) => `${p.name} ${p.address} ${p.leader_name} ${p.leader_phone}`,
      empty: empty(t('pp.none'), h('button', { type: 'button', class: 'secondary',
        onclick: () => document.getElementById('f-name').focus() }, t('pp.addBelow'))),
      row: (p) => h('tr', {},
        h('td', {}, h('a', { href: `#/pickup-points/${p.id}` }, p.name)),
        h('td', {}, p.address),
        h('td', {}, p.leader_name),
        h('td', {}, p.leader_phone),
        h('td', { class: 'num' }, percentOf(p.commission_bp)),
        h('td', {}, h('span', { class: `badge s-${p.active ? 'open' : 'cancelled'}` }, t(p.active ? 'pp.active' : 'pp.retired')))),
    }),
    h('h2', {}, t('pp.add')), create);
}

async function pointPage({ id, ctx }) {
  const p = await api.get(`/v1/admin/pickup-points/${id}`);
  const active = h('input', { type: 'checkbox', id: 'f-active', name: 'active', checked: p.active });
  const edit = form({ class: 'editor' }, async (f) => {
    await api.patch(`/v1/admin/pickup-points/${id}`, { ...body(f), active: active.checked });
    toast(t('a.saved'));
    ctx.go('/pickup-points');
  }, pointFields(p),
  h('div', { class: 'field', 'data-field': 'active' }, h('label', { for: 'f-active', class: 'check' }, active, t('pp.activeLabel'))),
  h('button', { type: 'submit', class: 'primary' }, t('a.save')));
  show(ctx, h('h1', {}, p.name), edit, h('p', {}, h('a', { href: '#/pickup-points' }, t('pp.back'))));
}

export default {
  routes: {
    '/pickup-points': { page: pointsPage, allowed: can.operate },
    '/pickup-points/:id': { page: pointPage, allowed: can.operate },
  },
  nav: { href: '#/pickup-points', label: 'pp.title', order: 30, allowed: can.operate,
    match: (p) => p.startsWith('/pickup-points') },
};
