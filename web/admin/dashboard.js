// admin/dashboard.js - one campaign: live progress (the event stream),
// counts by status, the forecast while it can still change (the people in
// and those still to come, the ladder shaded by each tier's chance:
// forecast.js) and its outcome once closed (never a forecast for a closed
// campaign), the
// participants by name with score and deposit, and the actions its state
// allows (edit, publish, extend, cancel; invite; fulfil; the settlement).
import { t } from '../lib/i18n.js';
import { h, fill, mount, ladder, progressBar, money, dateTime, watchCampaign } from '../lib/ui.js';
import { api, main, can, toast, errorText, badge, word, fetchAll, dataTable, empty, customerLabel } from './shell.js';
import { fromLocalInput } from './editor.js';
import { pad } from './shell.js';
import { forecastView, shadeLadder } from './forecast.js';
import { growthPanel } from './referrals.js';
import { show } from './shell.js';

const CLOSED = ['succeeded', 'failed', 'cancelled', 'settled'];

function toLocalInput(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// What the campaign's figures say: the outcome once closed, else the
// forecast the API answers (the people in and those still to come).
export function outlook(c) {
  const p = c.progress || {};
  const n = p.participants ?? 0;
  switch (c.status) {
    case 'succeeded':
    case 'settled':
      return h('p', { class: 'outcome ok' }, t('dash.succeeded', { n, price: money(c.final_unit_price_cents) }));
    case 'failed':
      return h('p', { class: 'outcome bad' }, t('dash.failed', { n, min: c.min_participants }));
    case 'cancelled':
      return h('p', { class: 'outcome' }, t('dash.cancelled'));
    case 'draft':
      return h('p', { class: 'outcome muted' }, t('dash.draft'));
    default:
      return forecastView(c);
  }
}

async function dashboardPage({ id, ctx }) {
  let c = await api.get(`/v1/admin/campaigns/${id}`);
  const liveBox = h('section', { class: 'live', 'aria-live': 'polite', 'aria-label': t('dash.live') });
  const statsBox = h('section', { 'aria-label': t('a.stats') });
  const peopleBox = h('section', { 'aria-label': t('a.participantList') });
  const actions = h('div', { class: 'toolbar' });
  const heading = h('h1', {});

  function drawHeading() {
    fill(heading, c.title, ' ', badge('status', c.status));
  }
  function drawLive() {
    const p = c.progress || {};
    fill(liveBox,
      h('p', { class: 'big-number' }, h('span', { class: 'participants' }, t('a.nParticipants', { n: p.participants ?? 0 })),
        ' · ', t('c.units', { n: p.quantity ?? 0 }), ' · ', h('strong', { class: 'price-now' },
          money(CLOSED.includes(c.status) ? (c.final_unit_price_cents ?? p.current_unit_price_cents) : p.current_unit_price_cents))),
      CLOSED.includes(c.status) ? null : progressBar(c),
      shadeLadder(ladder(c), CLOSED.includes(c.status) ? null : c.forecast?.tier_probabilities));
  }
  function drawStats() {
    const s = c.stats || {};
    const keys = Object.keys(s);
    fill(statsBox,
      h('h2', {}, t('a.stats')),
      h('table', { class: 'grid stats' },
        h('thead', {}, h('tr', {}, keys.map((k) => h('th', { scope: 'col', class: 'num' }, word('pstatus', k))))),
        h('tbody', {}, h('tr', {}, keys.map((k) => h('td', { class: 'num' }, s[k]))))),
      outlook(c));
  }
  async function drawPeople() {
    if (!can.operate()) return;
    const items = await fetchAll(`/v1/admin/campaigns/${id}/participations`).catch(() => []);
    fill(peopleBox, h('h2', {}, t('a.participantList')), dataTable(items, {
      id: 'people',
      caption: t('a.participantList'),
      columns: [{ label: t('a.score'), num: true }, { label: t('a.customer') }, { label: t('me.quantity'), num: true },
        { label: t('me.status') }, { label: t('a.deposit'), num: true }],
      text: (p) => `${p.customer?.display_name || ''} ${p.customer?.login || ''} ${p.customer_id}`,
      empty: empty(t('dash.noPeople'), ['scheduled', 'open'].includes(c.status)
        ? h('a', { href: `#/campaigns/${id}/audience` }, t('aud.invite')) : null),
      row: (p) => h('tr', {},
        h('td', { class: 'num' }, p.score ?? '—'),
        h('td', {}, h('a', { href: `#/customers/${p.customer_id}` }, customerLabel(p.customer))),
        h('td', { class: 'num' }, p.quantity),
        h('td', {}, word('pstatus', p.status)),
        h('td', { class: 'num' }, `${money(p.deposit_paid_cents)} / ${money(p.deposit_cents)}`)),
    }));
  }
  async function reload() {
    c = await api.get(`/v1/admin/campaigns/${id}`);
    drawHeading(); drawLive(); drawStats(); drawActions();
    drawPeople();
  }
  async function act(fn) {
    // the whole page again: the status, and the event stream a draft did not have
    try { await fn(); toast(t('a.saved')); ctx.run(); } catch (err) { toast(errorText(err)); }
  }
  function drawActions() {
    const links = [
      can.operate() && ['scheduled', 'open'].includes(c.status)
        ? h('a', { class: 'button secondary', href: `#/campaigns/${id}/audience` }, t('aud.title')) : null,
      can.operate() && ['succeeded', 'settled'].includes(c.status)
        ? h('a', { class: 'button secondary', href: `#/fulfilment?campaign=${id}` }, t('ful.title')) : null,
      can.finance() && c.status === 'settled'
        ? h('a', { class: 'button secondary', href: `#/finance/${id}` }, t('dash.settlement')) : null,
    ];
    if (!can.operate()) { fill(actions, links); return; }
    const extendInput = h('input', { id: 'extend-to', type: 'datetime-local', value: toLocalInput(c.ends_at) });
    fill(actions,
      c.status === 'draft' ? h('a', { class: 'button secondary', href: `#/campaigns/${id}/edit` }, t('a.edit')) : null,
      ['scheduled', 'open'].includes(c.status) ? h('a', { class: 'button secondary', href: `#/campaigns/${id}/edit` }, t('dash.editLadder')) : null,
      c.status === 'draft' ? h('button', { class: 'primary publish', onclick: () => act(() => api.post(`/v1/admin/campaigns/${id}/publish`, {})) }, t('a.publish')) : null,
      ['scheduled', 'open'].includes(c.status) ? [
        h('label', { for: 'extend-to' }, t('a.extendTo')), extendInput,
        h('button', { class: 'secondary', onclick: () => act(() => api.patch(`/v1/admin/campaigns/${id}`, { ends_at: fromLocalInput(extendInput.value) })) }, t('a.extend'))] : null,
      ['draft', 'scheduled', 'open'].includes(c.status) ? h('button', { class: 'danger', onclick: () => {
        if (confirm(t('a.cancelConfirm'))) act(() => api.post(`/v1/admin/campaigns/${id}/cancel`, {}));
      } }, t('a.cancel')) : null,
      links);
  }
  show(ctx, heading,
    h('p', { class: 'muted' }, `${dateTime(c.starts_at)} → ${dateTime(c.ends_at)} · ${t(`fulfil.${c.fulfilment || 'delivery'}`)}`),
    actions, liveBox, statsBox, growthPanel(c), peopleBox);
  drawHeading(); drawLive(); drawStats(); drawActions(); drawPeople();
  if (c.status === 'draft' || CLOSED.includes(c.status)) return undefined;
  let pending = null;
  const stop = watchCampaign(id, (ev) => {
    c.progress = ev.progress;
    c.status = ev.status;
    drawHeading();
    drawLive();
    // stats and forecast come from the staff view: fetched once the burst settles
    clearTimeout(pending);
    pending = setTimeout(() => reload().catch(() => {}), 500);
  });
  return () => { clearTimeout(pending); stop(); };
}

export default {
  routes: { '/campaigns/:id': { page: dashboardPage } },
};
