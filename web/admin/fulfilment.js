// admin/fulfilment.js - the fulfilment workbench of a campaign that
// succeeded: its orders by pickup point (mark a point's orders ready in
// one go: 备货完成; check a customer's pickup code; the leader's pickup
// list as CSV) or, for delivery, by address (ship with carrier and
// tracking number, confirm delivery).
import { t } from '../lib/i18n.js';
import { h, mount, dateTime } from '../lib/ui.js';
import { api, main, can, toast, errorText, fetchAll, dataTable, empty, word, download, hashQuery,
  customerLabel } from './shell.js';
import { show } from './shell.js';

// A wrong code is 409, the fifth wrong one locks the order (429).
function pickupError(err) {
  if (err.status === 409) return t('ful.wrongCode');
  if (err.status === 429) return t('ful.locked');
  return errorText(err);
}

function codeForm(o, done) {
  const input = h('input', { type: 'text', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6',
    class: 'code', 'aria-label': t('ful.codeFor', { id: o.id }), autocomplete: 'off' });
  return h('form', { class: 'row-form pickup', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api.post(`/v1/admin/orders/${o.id}/pickup`, { pickup_code: input.value.trim() });
      toast(t('ful.pickedUp', { id: o.id }));
      done();
    } catch (err) { toast(pickupError(err)); input.select(); }
  } }, input, h('button', { type: 'submit', class: 'secondary' }, t('ful.check')));
}

function shipForm(o, done) {
  const carrier = h('input', { 'aria-label': t('ful.carrierFor', { id: o.id }), placeholder: t('ful.carrier'), class: 'carrier' });
  const tracking = h('input', { 'aria-label': t('ful.trackingFor', { id: o.id }), placeholder: t('ful.tracking'), class: 'tracking' });
  return h('form', { class: 'row-form ship', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api.post(`/v1/admin/orders/${o.id}/ship`, { carrier: carrier.value.trim(), tracking_no: tracking.value.trim() });
      toast(t('ful.shipped', { id: o.id }));
      done();
    } catch (err) { toast(errorText(err)); }
  } }, carrier, tracking, h('button', { type: 'submit', class: 'secondary' }, t('ful.ship')));
}

function addressText(a) {
  return a ? `${a.name} ${a.phone} · ${a.region} ${a.line}` : t('ful.noAddress');
}

async function fulfilmentPage({ ctx }) {
  const chosen = Number(hashQuery().get('campaign')) || null;
  const campaigns = [...await fetchAll('/v1/admin/campaigns?status=succeeded'),
    ...await fetchAll('/v1/admin/campaigns?status=settled')].sort((a, b) => b.id - a.id);
  const pick = h('select', { id: 'ful-campaign', onchange: (e) => ctx.go(`/fulfilment?campaign=${e.target.value}`) },
    h('option', { value: '' }, t('ful.choose')),
    campaigns.map((c) => h('option', { value: c.id, selected: c.id === chosen }, `${c.title} · ${word('status', c.status)}`)));
  const head = [h('h1', {}, t('ful.title')),
    h('div', { class: 'toolbar' }, h('label', { for: 'ful-campaign' }, t('ful.campaign')), pick)];
  if (campaigns.length === 0) {
    show(ctx, head, empty(t('ful.noCampaigns'), h('a', { href: '#/' }, t('a.campaigns'))));
    return;
  }
  if (!chosen) {
    show(ctx, head, empty(t('ful.pick')));
    return;
  }
  const c = campaigns.find((x) => x.id === chosen) || await api.get(`/v1/admin/campaigns/${chosen}`);
  const orders = await fetchAll(`/v1/admin/orders?campaign_id=${chosen}`);
  const again = () => ctx.run();
  const columns = [{ label: t('ful.order'), num: true }, { label: t('a.customer') }, { label: t('me.quantity'), num: true },
    { label: t('a.status') }];
  const text = (o) => `${o.id} ${o.customer?.display_name || ''} ${o.customer?.login || ''} ${o.tracking_no || ''}`;
  const sections = [];
  if (orders.length === 0) {
    sections.push(empty(t('ful.noOrders')));
  } else if (c.fulfilment === 'pickup') {
    const byPoint = new Map();
    for (const o of orders) {
      const key = o.pickup_point?.id ?? 0;
      if (!byPoint.has(key)) byPoint.set(key, { point: o.pickup_point, orders: [] });
      byPoint.get(key).orders.push(o);
    }
    for (const { point, orders: list } of byPoint.values()) {
      const toShip = list.filter((o) => o.status === 'to_ship').length;
      const ready = h('button', { type: 'button', class: 'primary ready', disabled: toShip === 0, onclick: async () => {
        try {
          const r = await api.post(`/v1/admin/campaigns/${chosen}/orders/ready`, { pickup_point_id: point.id });
          toast(t('ful.readyDone', { n: r.updated, point: point.name }));
          again();
        } catch (err) { toast(errorText(err)); }
      } }, t('ful.ready', { n: toShip }));
      const csv = h('button', { type: 'button', class: 'secondary pickup-list', onclick: () =>
        download(`/v1/admin/exports/pickup-list.csv?campaign_id=${chosen}&pickup_point_id=${point.id}`,
          `pickup-list-${chosen}-${point.id}.csv`).catch((err) => toast(errorText(err))) }, t('ful.pickupList'));
      sections.push(h('section', { class: 'point', 'data-point': point.id, 'aria-label': point.name },
        h('h2', {}, point.name, ' ', h('span', { class: 'muted' }, point.address)),
        h('div', { class: 'toolbar' }, ready, csv),
        dataTable(list, {
          id: `point-${point.id}`, caption: point.name, text, empty: null,
          columns: [...columns, { label: t('ful.action') }],
          row: (o) => h('tr', { 'data-order': o.id },
            h('td', { class: 'num' }, o.id),
            h('td', {}, customerLabel(o.customer)),
            h('td', { class: 'num' }, o.quantity),
            h('td', {}, word('ostatus', o.status)),
            h('td', {}, o.status === 'ready_for_pickup' ? codeForm(o, again)
              : o.status === 'picked_up' ? dateTime(o.completed_at)
                : o.status === 'to_ship' ? h('span', { class: 'muted' }, t('ful.prepare')) : '')),
        })));
    }
  } else {
    sections.push(h('section', { 'aria-label': t('ful.delivery') }, dataTable(orders, {
      id: 'delivery', caption: t('ful.delivery'), text, empty: null,
      columns: [...columns, { label: t('ful.address') }, { label: t('ful.action') }],
      row: (o) => h('tr', { 'data-order': o.id },
        h('td', { class: 'num' }, o.id),
        h('td', {}, customerLabel(o.customer)),
        h('td', { class: 'num' }, o.quantity),
        h('td', {}, word('ostatus', o.status)),
        h('td', {}, addressText(o.address)),
        h('td', {}, o.status === 'to_ship' ? (o.address ? shipForm(o, again) : h('span', { class: 'muted' }, t('ful.waitAddress')))
          : o.status === 'shipped' ? [`${o.carrier} ${o.tracking_no} `, h('button', { type: 'button', class: 'secondary deliver',
            onclick: async () => {
              try { await api.post(`/v1/admin/orders/${o.id}/deliver`, {}); toast(t('ful.delivered', { id: o.id })); again(); } catch (err) { toast(errorText(err)); }
            } }, t('ful.deliver'))]
            : o.carrier ? `${o.carrier} ${o.tracking_no}` : '')),
    })));
  }
  show(ctx, head, h('p', { class: 'muted' }, `${t(`fulfil.${c.fulfilment}`)} · ${t('ful.count', { n: orders.length })}`),
    sections);
}

export default {
  routes: { '/fulfilment': { page: fulfilmentPage, allowed: can.operate } },
  nav: { href: '#/fulfilment', label: 'ful.title', order: 40, allowed: can.operate },
};
