// admin/editor.js - the campaign editor: the product (its list and cost
// price beside it), the tier ladder as rows with the margin of each tier
// against the product's cost, a live preview of what every count pays up
// to a few past the last threshold, the fulfilment terms, the deposit
// policy. The server's own error is shown next to the field it names; for
// a row of the ladder or of the deposit policy, next to that row's input,
// rows counted from 1 as people count them (the server counts from 0).
// A tier may carry the manufacturer's cost at its volume: that tier's
// margin is from it, else from the product's cost. A scheduled or open
// campaign may change only its end, description, ladder and a larger cap
// (API.md; the cap reserves the difference from the product's available
// stock, shown beside the product): the other inputs are shown but
// disabled, and an end left as it was is not sent. Below the ladder, the
// planner's forecast of the form as it stands (forecast.js): asked again
// as the ladder or the minimum change, margin per tier.
import { t } from '../lib/i18n.js';
import { h, fill, mount, money } from '../lib/ui.js';
import { api, main, can, toast, field, cents, yuan, fetchAll, pad } from './shell.js';
import { plannerPanel } from './forecast.js';
import { show } from './shell.js';

// The price a count pays: the lowest tier whose threshold it reached
// (DESIGN.md: tiers ascend in threshold and descend in price).
export function priceAt(tiers, n) {
  let price = null;
  for (const tier of tiers) if (n >= tier.threshold) price = tier.unit_price_cents;
  return price;
}

// The cost of the tier a count reaches (its manufacturer's cost), else the
// product's.
export function costAt(tiers, n, productCost) {
  let cost = productCost;
  for (const tier of tiers) {
    if (n >= tier.threshold) cost = Number.isFinite(tier.cost_price_cents) ? tier.cost_price_cents : productCost;
  }
  return cost;
}

// Margin of a unit sold at price against the cost, and its share of the
// price in whole percent (rounded toward zero; may be negative: a loss).
export function margin(price, cost) {
  if (!Number.isFinite(price) || !Number.isFinite(cost) || price <= 0) return null;
  const m = price - cost;
  return { cents: m, percent: Math.trunc((m * 100) / price) };
}

function marginText(m) {
  if (!m) return '—';
  return t(m.cents < 0 ? 'ed.loss' : 'ed.margin', { amount: money(Math.abs(m.cents)), pct: m.percent });
}

function toLocalInput(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export const fromLocalInput = (v) => new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z');

// The server's messages about a row of the ladder or of the deposit
// policy, in the user's words (domain/pricing.c says them in English).
const ROW_MESSAGES = [
  ['at least one tier is required', 'ed.e.tiersEmpty'],
  ['too many tiers', 'ed.e.tiersMany'],
  ["the first tier's threshold must be 1", 'ed.e.firstOne', 'threshold'],
  ['thresholds must be strictly ascending', 'ed.e.ascending', 'threshold'],
  ['threshold must be at most', 'ed.e.thresholdMax', 'threshold'],
  ['unit_price_cents must be at least 1', 'ed.e.priceMin', 'unit_price_cents'],
  ['unit_price_cents must be at most', 'ed.e.priceMax', 'unit_price_cents'],
  ["unit_price_cents must not exceed the product's list price", 'ed.e.aboveList', 'unit_price_cents'],
  ['unit prices must be strictly descending', 'ed.e.descending', 'unit_price_cents'],
  ['cost_price_cents must be from 0 to', 'ed.e.costRange', 'cost_price_cents'],
  ['at least one deposit band is required', 'ed.e.bandsEmpty'],
  ['too many deposit bands', 'ed.e.bandsMany'],
  ['min_score must be between 0 and 100', 'ed.e.scoreRange', 'min_score'],
  ['deposit_percent must be between 0 and 100', 'ed.e.percentRange', 'deposit_percent'],
  ['min_score values must be unique', 'ed.e.scoreUnique', 'min_score'],
  ['deposit_percent must not rise with min_score', 'ed.e.percentOrder', 'deposit_percent'],
  ['a band with min_score 0 is required', 'ed.e.bandZero', 'min_score'],
  ['must be an object', 'ed.e.rowNumbers'],
];

// {row (1-based) or null, key (the input) or null, text} of a server
// error about "tiers" or "deposit_policy"; null for another field.
export function rowError(err) {
  if (err.field !== 'tiers' && err.field !== 'deposit_policy') return null;
  const m = /^(\w+)(?:\[(\d+)\])?[: ]\s*(.*)$/.exec(err.message || '');
  const rest = m ? m[3] : err.message;
  const row = m && m[2] !== undefined ? Number(m[2]) + 1 : null;
  const known = ROW_MESSAGES.find(([en]) => rest.includes(en));
  const text = known ? t(known[1]) : rest;
  return { row, key: known && known[2] ? known[2] : null, text };
}

function clearErrors(formEl) {
  formEl.querySelectorAll('.field-error').forEach((e) => e.remove());
  formEl.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

// Shows the error next to the input it names (a row's input for the
// ladder and the policy), focuses that input, and says it once for
// screen readers.
function showFieldError(formEl, err) {
  clearErrors(formEl);
  const where = err.field && formEl.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
  const rowErr = rowError(err);
  let input = null;
  let text = err.code === 'network' ? t('err.network') : err.message;
  let at = where || formEl;
  if (rowErr && where) {
    text = rowErr.row ? t('ed.rowError', { n: rowErr.row, text: rowErr.text }) : rowErr.text;
    const tr = rowErr.row ? where.querySelectorAll('tbody tr')[rowErr.row - 1] : null;
    if (tr) {
      input = (rowErr.key && tr.querySelector(`input[data-key="${rowErr.key}"]`))
        || [...tr.querySelectorAll('input')].find((i) => i.value === '') || tr.querySelector('input');
    }
  } else if (where) {
    input = where.querySelector('input, select, textarea');
  }
  const box = h('p', { class: 'field-error', role: 'alert', id: `err-${err.field || 'form'}` }, text);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-errormessage', box.id);
    input.focus();
  }
  at.append(box);
}

// Rows of numbers (the ladder, the deposit policy): cols [{key, label,
// money?}], extra(row values) -> a read-only cell after the inputs.
function rowsEditor(name, cols, initial, onChange, extra) {
  const body = h('tbody');
  const wrap = h('div', { class: 'rows-editor', 'data-field': name });
  function addRow(values = {}) {
    const tr = h('tr', {});
    const inputs = cols.map((c) => h('input', {
      type: 'number', step: c.money ? '0.01' : '1', min: '0', inputmode: c.money ? 'decimal' : 'numeric',
      'data-key': c.key, value: values[c.key] ?? '', oninput: onChange,
    }));
    const n = () => [...body.children].indexOf(tr) + 1;
    inputs.forEach((i, k) => i.setAttribute('aria-label', cols[k].label));
    const extraCell = extra ? h('td', { class: 'num extra' }) : null;
    tr.append(h('th', { scope: 'row', class: 'row-no' }, ''), ...inputs.map((i) => h('td', {}, i)), extraCell,
      h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': t('a.removeRow'),
        onclick: () => { tr.remove(); onChange(); } }, '×')));
    tr.refresh = () => {
      tr.firstChild.textContent = String(n());
      inputs.forEach((i, k) => i.setAttribute('aria-label', `${t('ed.row', { n: n() })} ${cols[k].label}`));
      if (extraCell) fill(extraCell, extra(read(tr)));
    };
    body.append(tr);
  }
  function read(tr) {
    const o = {};
    tr.querySelectorAll('input').forEach((i) => {
      const c = cols.find((x) => x.key === i.dataset.key);
      o[i.dataset.key] = i.value === '' ? NaN : (c.money ? cents(i.value) : Number(i.value));
    });
    return o;
  }
  initial.forEach(addRow);
  wrap.append(
    h('table', { class: 'grid compact' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), cols.map((c) => h('th', { scope: 'col' }, c.label)),
        extra ? h('th', { scope: 'col', class: 'num' }, t('ed.marginCol')) : null,
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('a.removeRow'))))), body),
    h('button', { type: 'button', class: 'secondary add-row', onclick: () => { addRow(); onChange(); } }, t('a.addRow')));
  wrap.read = () => [...body.children].map(read);
  wrap.refresh = () => [...body.children].forEach((tr) => tr.refresh());
  wrap.setDisabled = (off) => wrap.querySelectorAll('input, button').forEach((el) => { el.disabled = off; });
  return wrap;
}

async function editorPage({ id, ctx }) {
  const [products, points] = await Promise.all([
    fetchAll('/v1/admin/products'),
    fetchAll('/v1/admin/pickup-points').catch(() => []),
  ]);
  const now = Date.now();
  const c = id ? await api.get(`/v1/admin/campaigns/${id}`) : {
    title: '', description: '', tier_basis: 'participants', product_id: products[0]?.id,
    starts_at: new Date(now).toISOString(), ends_at: new Date(now + 3 * 86400e3).toISOString(),
    tiers: [{ threshold: 1, unit_price_cents: 9900 }, { threshold: 10, unit_price_cents: 8900 }],
    min_participants: 10, max_quantity: 100, per_customer_limit: 2,
    deposit_policy: [{ min_score: 80, deposit_percent: 0 }, { min_score: 50, deposit_percent: 10 }, { min_score: 0, deposit_percent: 30 }],
    min_score: 0, fulfilment: 'delivery', pickup_point_ids: [], after_sales_days: 7,
  };
  if (!id && products.length === 0) {
    show(ctx, h('h1', {}, t('a.newCampaign')),
      h('div', { class: 'empty', role: 'status' }, h('p', {}, t('ed.noProducts')),
        h('a', { class: 'button primary', href: '#/products' }, t('a.addProduct'))));
    return;
  }
  const locked = !!c.id && c.status !== 'draft'; // only ends_at, description, tiers, a larger cap
  const productOf = (pid) => products.find((p) => p.id === pid);

  const productSelect = h('select', { onchange: drawAll }, products.map((p) =>
    h('option', { value: p.id, selected: p.id === c.product_id }, `${p.name} (${p.sku})`)));
  const productInfo = h('p', { class: 'hint', id: 'product-info', 'aria-live': 'polite' });
  productSelect.setAttribute('aria-describedby', 'product-info');
  const cost = () => productOf(Number(productSelect.value))?.cost_price_cents;

  const previewBody = h('tbody');
  const preview = h('div', { class: 'preview', tabindex: '0', role: 'region', 'aria-label': t('a.preview') },
    h('table', { class: 'grid compact' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num' }, t('ed.count')),
        h('th', { scope: 'col', class: 'num' }, t('ed.pays')), h('th', { scope: 'col', class: 'num' }, t('ed.marginCol')))),
      previewBody));
  const tiers = rowsEditor('tiers', [
    { key: 'threshold', label: t('a.threshold') },
    { key: 'unit_price_cents', label: t('a.unitPrice'), money: true },
    { key: 'cost_price_cents', label: t('ed.tierCost'), money: true },
  ], c.tiers.map((x) => ({ threshold: x.threshold, unit_price_cents: yuan(x.unit_price_cents),
    cost_price_cents: yuan(x.cost_price_cents) })), drawAll,
  (row) => marginText(margin(row.unit_price_cents, Number.isFinite(row.cost_price_cents) ? row.cost_price_cents : cost())));
  // a tier without a cost is sent without one (the product's applies)
  const readTiers = () => tiers.read().map(({ cost_price_cents: k, ...row }) =>
    (Number.isFinite(k) ? { ...row, cost_price_cents: k } : row));
  const policy = rowsEditor('deposit_policy', [
    { key: 'min_score', label: t('a.minScore') },
    { key: 'deposit_percent', label: t('a.depositPercent') },
  ], c.deposit_policy || [], () => policy.refresh());
  const basis = h('select', { onchange: drawAll },
    h('option', { value: 'participants', selected: c.tier_basis === 'participants' }, t('a.basisPeople')),
    h('option', { value: 'quantity', selected: c.tier_basis === 'quantity' }, t('a.basisUnits')));
  const fulfilment = h('select', { onchange: () => { pointsBox.hidden = fulfilment.value !== 'pickup'; } },
    ['delivery', 'pickup'].map((k) => h('option', { value: k, selected: c.fulfilment === k }, t(`fulfil.${k}`))));
  const activePoints = points.filter((p) => p.active || (c.pickup_point_ids || []).includes(p.id));
  const pointsBox = h('fieldset', { 'data-field': 'pickup_point_ids', hidden: c.fulfilment !== 'pickup' },
    h('legend', {}, t('ed.points')),
    activePoints.length ? activePoints.map((p) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'pickup_point_ids', value: p.id,
        checked: (c.pickup_point_ids || []).includes(p.id) }), `${p.name} · ${p.leader_name}`))
      : h('p', {}, t('ed.noPoints'), ' ', h('a', { href: '#/pickup-points' }, t('pp.add'))));

  // What the planner is asked: the form's campaign, or null while a tier,
  // a date or the minimum is missing.
  function planBody() {
    // the inputs themselves: a locked campaign's are disabled, out of FormData
    const val = (k) => formEl.elements[k]?.value ?? '';
    const num = (k) => (val(k) === '' ? NaN : Number(val(k)));
    const rows = tiers.read();
    const starts = new Date(val('starts_at'));
    const ends = new Date(val('ends_at'));
    if (!rows.length || rows.some((r) => !Number.isFinite(r.threshold) || !Number.isFinite(r.unit_price_cents))
      || !Number.isFinite(num('min_participants')) || Number.isNaN(starts.getTime()) || Number.isNaN(ends.getTime())) {
      return null;
    }
    const body = {
      product_id: Number(productSelect.value), starts_at: fromLocalInput(val('starts_at')),
      ends_at: fromLocalInput(val('ends_at')), tier_basis: basis.value, tiers: readTiers(),
      min_participants: num('min_participants'), min_score: num('min_score') || 0,
    };
    if (Number.isFinite(num('max_quantity'))) body.max_quantity = num('max_quantity');
    if (Number.isFinite(num('per_customer_limit'))) body.per_customer_limit = num('per_customer_limit');
    return body;
  }
  const planner = plannerPanel(planBody);

  function drawAll() {
    planner.update();
    const p = productOf(Number(productSelect.value));
    fill(productInfo, p ? [t('ed.productInfo', { list: money(p.list_price_cents), cost: money(p.cost_price_cents) }),
      ' · ', t('ed.available', { n: p.available })] : '');
    tiers.refresh();
    const rows = tiers.read().filter((x) => Number.isFinite(x.threshold) && Number.isFinite(x.unit_price_cents))
      .sort((a, b) => a.threshold - b.threshold);
    const last = rows.length ? rows[rows.length - 1].threshold : 0;
    const unit = basis.value === 'quantity' ? 'c.tierUnits' : 'c.tierPeople';
    const out = [];
    for (let n = 1; n <= last + 3 && n <= 200; n++) {
      const price = priceAt(rows, n);
      const reached = rows.some((r) => r.threshold === n);
      out.push(h('tr', { class: reached ? 'step' : null },
        h('td', { class: 'num' }, t(unit, { n })),
        h('td', { class: 'num' }, price === null ? '—' : money(price)),
        h('td', { class: 'num' }, marginText(margin(price, costAt(rows, n, p?.cost_price_cents))))));
    }
    fill(previewBody, out);
  }

  const num = (name, label, v) => field(name, label, h('input', { type: 'number', min: '0', value: v ?? '' }));
  const intOf = (f, k) => (f.get(k) === '' || f.get(k) === null ? NaN : Number(f.get(k)));
  const formEl = h('form', { class: 'editor', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(formEl);
    const body = {
      product_id: Number(productSelect.value), title: f.get('title'),
      description: f.get('description'),
      starts_at: fromLocalInput(f.get('starts_at')), ends_at: fromLocalInput(f.get('ends_at')),
      tier_basis: basis.value, tiers: readTiers(),
      min_participants: intOf(f, 'min_participants'),
      max_quantity: intOf(f, 'max_quantity'),
      per_customer_limit: intOf(f, 'per_customer_limit'),
      deposit_policy: policy.read(), min_score: intOf(f, 'min_score') || 0,
      fulfilment: fulfilment.value,
      pickup_point_ids: fulfilment.value === 'pickup' ? f.getAll('pickup_point_ids').map(Number) : [],
      after_sales_days: intOf(f, 'after_sales_days'),
    };
    if (locked) {
      for (const k of Object.keys(body)) if (!['ends_at', 'description', 'tiers', 'max_quantity'].includes(k)) delete body[k];
      if (f.get('ends_at') === toLocalInput(c.ends_at)) delete body.ends_at;
    }
    // a row with a number missing is named before anything is sent
    for (const [name, rows, keys] of [['tiers', body.tiers, ['threshold', 'unit_price_cents']],
      ['deposit_policy', body.deposit_policy || [], ['min_score', 'deposit_percent']]]) {
      const i = rows.findIndex((r) => keys.some((k) => !Number.isFinite(r[k])));
      if (i >= 0) {
        showFieldError(formEl, { field: name, message: `${name}[${i}] must be an object of integers` });
        return;
      }
    }
    const submit = formEl.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const saved = c.id ? await api.patch(`/v1/admin/campaigns/${c.id}`, body)
        : await api.post('/v1/admin/campaigns', body);
      toast(t('a.saved'));
      ctx.go(`/campaigns/${saved.id}`);
    } catch (err) {
      showFieldError(formEl, err);
    } finally {
      submit.disabled = false;
    }
  } },
  locked ? h('p', { class: 'notice' }, t('ed.lockedHint')) : null,
  field('product_id', t('a.product'), productSelect), productInfo,
  field('title', t('a.title'), h('input', { required: true, value: c.title })),
  field('description', t('a.description'), h('textarea', {}, c.description || '')),
  field('starts_at', t('a.startsAt'), h('input', { type: 'datetime-local', value: toLocalInput(c.starts_at), required: true })),
  field('ends_at', t('a.endsAt'), h('input', { type: 'datetime-local', value: toLocalInput(c.ends_at), required: true })),
  field('tier_basis', t('a.tierBasis'), basis),
  h('fieldset', {}, h('legend', {}, t('a.tiers')), h('div', { class: 'tiers-layout' }, tiers,
    h('div', { class: 'preview-box' }, h('h2', { class: 'h3' }, t('a.preview')), preview))),
  planner.el,
  num('min_participants', t('a.minParticipants'), c.min_participants),
  locked ? field('max_quantity', t('a.maxQuantity'), h('input', { type: 'number', min: c.max_quantity, value: c.max_quantity }),
    t('ed.growHint')) : num('max_quantity', t('a.maxQuantity'), c.max_quantity),
  num('per_customer_limit', t('a.perCustomer'), c.per_customer_limit),
  num('min_score', t('a.minScoreJoin'), c.min_score),
  field('fulfilment', t('ed.fulfilment'), fulfilment), pointsBox,
  num('after_sales_days', t('ed.afterSalesDays'), c.after_sales_days ?? 7),
  h('fieldset', {}, h('legend', {}, t('a.depositPolicy')), policy),
  h('button', { type: 'submit', class: 'primary' }, t('a.save')));
  if (locked) {
    formEl.querySelectorAll('input, select, textarea, button').forEach((el) => {
      const inTiers = el.closest('[data-field=tiers]');
      const keep = inTiers || el.closest('#planner') || ['ends_at', 'description', 'max_quantity'].includes(el.name)
        || el.type === 'submit';
      if (!keep) el.disabled = true;
    });
  }
  formEl.addEventListener('input', planner.update);
  formEl.addEventListener('change', planner.update);
  show(ctx, h('h1', {}, c.id ? t('a.editCampaign') : t('a.newCampaign')), formEl);
  drawAll();
  policy.refresh();
}

export default {
  routes: {
    '/campaigns/new': { page: editorPage, allowed: can.operate },
    '/campaigns/:id/edit': { page: editorPage, allowed: can.operate },
  },
};
