// shop/orders.js - the order centre (我的团购): the shopper's
// participations and their orders in five tabs, 待付款 / 待成团 /
// 待自提·待收货 / 已完成 / 售后, each item with its amounts and the action
// that is due: pay the deposit or the balance, withdraw while the campaign
// is open, give the delivery address (until shipped), show the pickup code
// large and as a QR code with the point's name and address, ask for
// after-sales on a finished order and follow the request's status.
// Loaded on first use (not part of the first load of the app).
import { t } from '../lib/i18n.js';
import { h, fill, mount, money, dateTime, focusOn, showError } from '../lib/ui.js';
import {
  api, main, session, go, loginPath, query, explain, pageError, allPages, campaignOf,
} from './shell.js';
import { startPayment } from './pay.js';
import { withdrawButton } from './campaign.js';
import { meNav } from './growth.js';

export const TABS = ['pay', 'group', 'receive', 'done', 'aftersales'];
const DAY = 86400000;

// The tab a participation (and its order) belongs to; an order with
// after-sales requests is in 售后 too.
function tabOf(p, o) {
  if (p.status === 'pending_deposit' || p.status === 'awaiting_payment') return 'pay';
  if (p.status === 'active') return 'group';
  if (p.status === 'paid' && (!o || ['to_ship', 'shipped', 'ready_for_pickup'].includes(o.status))) return 'receive';
  return 'done';
}

export async function ordersPage(params, ctx = { alive: () => true }) {
  if (!session.me) {
    go(loginPath());
    return undefined;
  }
  const title = t('nav.mine');
  mount(main, h('h1', {}, title), h('p', { class: 'muted' }, t('loading')));
  let items;
  try {
    const [parts, orders] = await Promise.all([allPages('/v1/me/participations'), allPages('/v1/me/orders')]);
    const byPart = new Map(orders.map((o) => [o.participation_id, o]));
    const ids = [...new Set(parts.map((p) => p.campaign_id))];
    const cs = new Map(await Promise.all(ids.map(async (id) => [id, await campaignOf(id)])));
    items = parts.slice().reverse().map((p) => {
      const o = byPart.get(p.id) || null;
      return { p, o, c: cs.get(p.campaign_id), tab: tabOf(p, o) };
    });
  } catch (err) {
    if (ctx.alive()) pageError(title, err, () => ordersPage(params, ctx));
    return undefined;
  }
  if (!ctx.alive()) return undefined;
  const inTab = (tab) => items.filter((it) => (tab === 'aftersales' ? it.o?.after_sales?.length : it.tab === tab));
  let tab = query().get('tab');
  if (!TABS.includes(tab)) tab = TABS.find((k) => inTab(k).length) || 'pay';
  const shown = inTab(tab);
  const said = sessionStorage.getItem('gb.shop.said');
  sessionStorage.removeItem('gb.shop.said');
  const note = said ? h('p', { class: 'result ok', role: 'status' }, said) : null;
  mount(main, h('h1', {}, title), meNav('orders'),
    h('p', { class: 'muted' }, t('me.score', { score: session.me.reliability?.score ?? '—' })),
    h('nav', { class: 'tabs', 'aria-label': t('me.tabs') },
      TABS.map((k) => h('a', { href: `#/orders?tab=${k}`, class: k === tab ? 'tab current' : 'tab',
        'aria-current': k === tab ? 'page' : null, 'data-tab': k },
      t(`me.tab.${k}`), inTab(k).length ? h('span', { class: 'count' }, String(inTab(k).length)) : null))),
    note,
    shown.length ? h('ul', { class: 'mine' }, shown.map((it) => item(it))) : h('p', { class: 'muted empty' }, t(`me.empty.${tab}`)));
  if (note) focusOn(note);
  return undefined;
}

function row(label, value, cls) {
  return [h('dt', {}, label), h('dd', { class: cls || null }, value)];
}

function item(it) {
  const { p, o, c } = it;
  const result = h('p', { class: 'result', role: 'status' });
  const li = h('li', { class: 'mine-item', 'data-participation': String(p.id), 'data-order': o ? String(o.id) : null });
  const redraw = (fresh, said) => {
    const next = item({ ...it, ...fresh });
    li.replaceWith(next);
    const r = next.querySelector('.result');
    if (said) {
      r.textContent = said;
      focusOn(r);
    }
  };
  const facts = [
    row(t('me.quantity'), String(p.quantity)),
    row(p.status === 'active' || p.status === 'pending_deposit' ? t('me.unitPriceNow') : t('me.unitPrice'),
      money(p.unit_price_cents)),
  ];
  const actions = [];
  const open = c && c.status === 'open';
  if (p.status === 'pending_deposit') {
    facts.push(row(t('me.deposit'), money(p.deposit_cents)));
    facts.push(row(t('me.due'), money(p.amount_due_cents), 'due'));
    facts.push(row(t('me.deadline'), dateTime(p.deposit_due_by)));
    actions.push(h('button', { type: 'button', class: 'primary pay', onclick: () => startPayment(p, result) },
      t('me.payDeposit')));
  } else if (p.status === 'active') {
    const total = (p.unit_price_cents || 0) * p.quantity;
    facts.push(row(t('me.depositPaid'), money(p.deposit_paid_cents)));
    facts.push(row(t('me.balanceLater'), money(Math.max(0, total - p.deposit_paid_cents)), 'due'));
  } else if (p.status === 'awaiting_payment') {
    facts.push(row(t('me.depositPaid'), money(p.deposit_paid_cents)));
    facts.push(row(t('me.dueBalance'), money(p.amount_due_cents), 'due'));
    facts.push(row(t('me.deadline'), dateTime(p.pay_by)));
    actions.push(h('button', { type: 'button', class: 'primary pay', onclick: () => startPayment(p, result) },
      t('me.payBalance')));
  } else if (p.status === 'paid') {
    facts.push(row(t('me.paid'), money((p.unit_price_cents || 0) * p.quantity)));
  }
  if (open && (p.status === 'pending_deposit' || p.status === 'active')) {
    actions.push(withdrawButton(p, result, (w) => redraw({ p: w, tab: tabOf(w, o) }, t('me.withdrawnRefund'))));
  }
  fill(li,
    h('h2', {}, c ? h('a', { class: 'tap', href: `#/c/${c.id}` }, c.title) : t('me.campaignN', { id: p.campaign_id })),
    h('p', { class: 'badges' },
      h('span', { class: `status p-${p.status}` }, t(`pstatus.${p.status}`)),
      o ? h('span', { class: `order-status o-${o.status}` }, t(`ostatus.${o.fulfilment}.${o.status}`)) : null),
    h('dl', {}, facts),
    o ? fulfilment(o, c, result, (fresh, said) => redraw({ o: fresh, tab: tabOf(p, fresh) }, said)) : null,
    o ? afterSales(o, p, c, result, (fresh, said) => redraw({ o: fresh }, said)) : null,
    actions.length ? h('div', { class: 'actions' }, actions) : null,
    result);
  return li;
}

// ---- fulfilment: the point and its code, or the address ------------------

function fulfilment(o, c, result, done) {
  if (o.fulfilment === 'pickup') {
    const pt = o.pickup_point || {};
    const where = h('p', { class: 'point' }, h('strong', {}, pt.name || ''), ' ', h('span', {}, pt.address || ''));
    if (o.status === 'ready_for_pickup' && o.pickup_code) return pickupCode(o, where);
    if (o.status === 'picked_up') return h('div', { class: 'fulfil' }, where, h('p', {}, t('me.pickedUp', { time: dateTime(o.completed_at) })));
    return h('div', { class: 'fulfil' }, where, h('p', { class: 'muted' }, t('me.pickupLater')));
  }
  const box = h('div', { class: 'fulfil' });
  if (o.status === 'shipped' || o.status === 'delivered') {
    fill(box, o.address ? addressLine(o.address) : null,
      h('p', {}, t('me.shipped', { carrier: o.carrier || '', no: o.tracking_no || '' })),
      o.status === 'delivered' ? h('p', {}, t('me.delivered', { time: dateTime(o.completed_at) })) : null);
    return box;
  }
  // to_ship: the address can be given or changed until it ships
  const show = () => fill(box,
    o.address ? addressLine(o.address) : h('p', { class: 'reminder', role: 'note' }, t('me.addressMissing')),
    h('button', { type: 'button', class: o.address ? 'secondary edit-address' : 'primary add-address',
      onclick: () => edit() }, o.address ? t('me.addressEdit') : t('me.addressAdd')));
  const edit = () => {
    const ins = {};
    const form = h('form', { class: 'address-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const body = {};
      for (const k of ['name', 'phone', 'region', 'line']) body[k] = ins[k].value.trim();
      const empty = Object.keys(body).find((k) => !body[k]);
      if (empty) {
        const box2 = showError(form, { code: 'invalid_field', field: 'address' }, t('err.join.addressMissing'));
        ins[empty].setAttribute('aria-invalid', 'true');
        focusOn(ins[empty] || box2);
        return;
      }
      try {
        const fresh = await api.put(`/v1/orders/${o.id}/address`, body);
        done(fresh, t('me.addressSaved'));
      } catch (err) {
        const why = explain(err, 'address');
        if (why !== null) focusOn(showError(form, err, why));
      }
    } },
    h('div', { 'data-field': 'address' },
      ['name', 'phone', 'region', 'line'].map((k) => {
        ins[k] = h('input', { id: `o${o.id}-${k}`, name: k, type: k === 'phone' ? 'tel' : 'text',
          value: o.address?.[k] || '', autocomplete: { name: 'name', phone: 'tel', region: 'address-level1', line: 'street-address' }[k] });
        return h('div', { class: 'field' }, h('label', { for: `o${o.id}-${k}` }, t(`addr.${k}`)), ins[k]);
      })),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary save-address' }, t('me.addressSave')),
      h('button', { type: 'button', class: 'secondary', onclick: () => { show(); box.querySelector('button')?.focus(); } }, t('me.cancel'))));
    fill(box, form);
    ins.name.focus();
  };
  show();
  return box;
}

function addressLine(a) {
  return h('p', { class: 'address' }, `${a.name} ${a.phone}`, h('br', {}), `${a.region} ${a.line}`);
}

function pickupCode(o, where) {
  const qr = h('div', { class: 'qr-box' });
  const label = t('me.codeQr', { code: o.pickup_code });
  import('./qr.js').then(({ qrSvg }) => qrSvg(o.pickup_code, label)).then((svg) => qr.append(svg))
    .catch(() => qr.append(h('p', { class: 'muted' }, t('me.qrFailed'))));
  return h('div', { class: 'fulfil pickup-code' },
    h('h3', {}, t('me.code')),
    h('p', { class: 'code', 'aria-label': label }, o.pickup_code),
    qr,
    h('p', {}, t('me.codeWhere')), where);
}

// ---- after-sales ----------------------------------------------------------

function afterSales(o, p, c, result, done) {
  const reqs = o.after_sales || [];
  const list = reqs.length ? h('ul', { class: 'after-sales' }, reqs.map((a) => h('li', { 'data-after-sales': String(a.id) },
    h('span', { class: `as-status as-${a.status}` }, t(`as.${a.status}`)), ' ',
    a.status === 'approved' ? t('as.approvedAmount', { amount: money(a.approved_cents) }) : t('as.asked', { amount: money(a.amount_cents) }),
    a.note ? h('span', { class: 'muted' }, ' ', t('as.note', { note: a.note })) : null,
    h('span', { class: 'muted' }, ' · ', dateTime(a.decided_at || a.created_at))))) : null;
  const finished = o.status === 'delivered' || o.status === 'picked_up';
  const pending = reqs.some((a) => a.status === 'pending');
  const days = c?.after_sales_days;
  const within = days === undefined || (o.completed_at && Date.parse(o.completed_at) + days * DAY > Date.now());
  if (!finished || pending || !within) {
    return list ? h('div', { class: 'as-box' }, h('h3', {}, t('as.title')), list) : null;
  }
  const box = h('div', { class: 'as-box' });
  const ask = h('button', { type: 'button', class: 'secondary ask-after-sales', onclick: () => openForm() }, t('as.ask'));
  const paid = (p.unit_price_cents || 0) * p.quantity;
  const refunded = reqs.filter((a) => a.status === 'approved').reduce((s, a) => s + a.approved_cents, 0);
  const cap = Math.max(0, paid - refunded);
  const openForm = () => {
    const reason = h('textarea', { id: `as-reason-${o.id}`, name: 'reason', maxlength: '1000', rows: '3' });
    const qty = h('input', { id: `as-qty-${o.id}`, name: 'quantity', type: 'number', min: '0', max: String(o.quantity),
      value: String(o.quantity), inputmode: 'numeric' });
    const amount = h('input', { id: `as-amount-${o.id}`, name: 'amount', type: 'text', inputmode: 'decimal',
      value: (cap / 100).toFixed(2) });
    const form = h('form', { class: 'after-sales-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const m = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(amount.value);
      const cents = m ? Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0')) : NaN;
      const q = Number(qty.value);
      const local = !reason.value.trim() ? 'reason'
        : !Number.isInteger(q) || q < 0 || q > o.quantity ? 'quantity'
          : !(cents >= 1 && cents <= cap) ? 'amount_cents' : null;
      if (local) {
        const text = t(`err.aftersales.invalid_field.${local}`, { max: money(cap), n: o.quantity });
        const box2 = showError(form, { code: 'invalid_field', field: local }, text);
        focusOn(form.querySelector('[aria-invalid]') || box2);
        return;
      }
      try {
        const r = await api.post(`/v1/orders/${o.id}/after-sales`, { reason: reason.value.trim(), quantity: q, amount_cents: cents });
        done({ ...o, after_sales: [r, ...reqs] }, t('as.sent'));
      } catch (err) {
        const why = explain(err, 'aftersales');
        if (why !== null) focusOn(showError(form, err, why));
      }
    } },
    h('div', { class: 'field', 'data-field': 'reason' }, h('label', { for: reason.id }, t('as.reason')), reason),
    h('div', { class: 'field', 'data-field': 'quantity' }, h('label', { for: qty.id }, t('as.quantity', { n: o.quantity })), qty),
    h('div', { class: 'field', 'data-field': 'amount_cents' }, h('label', { for: amount.id }, t('as.amount', { max: money(cap) })), amount),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary send-after-sales' }, t('as.send')),
      h('button', { type: 'button', class: 'secondary', onclick: () => { fill(box, h('h3', {}, t('as.title')), list, ask); ask.focus(); } }, t('me.cancel'))));
    fill(box, h('h3', {}, t('as.title')), list, form);
    reason.focus();
  };
  fill(box, h('h3', {}, t('as.title')), list,
    days !== undefined && o.completed_at
      ? h('p', { class: 'muted' }, t('as.until', { time: dateTime(new Date(Date.parse(o.completed_at) + days * DAY).toISOString()) }))
      : null,
    ask);
  return box;
}
