// admin/app.js - the staff and finance app (desktop first): products, the
// campaign editor with its live tier-ladder preview, publish / extend /
// cancel, the campaign dashboard (live progress, stats, forecast,
// participants), a customer's reliability and VIP level, and finance's
// settlements, reconciliation and CSV export. What a role may not do the
// server refuses (403); the menu only hides what would be refused.
import { makeApi } from '../lib/api.js';
import { t, getLang, setLang, translateStatic } from '../lib/i18n.js';
import { makeRouter } from '../lib/router.js';
import {
  h, fill, mount, showError, ladder, progressBar, money, dateTime, watchCampaign, langSwitch,
} from '../lib/ui.js';

const api = makeApi('gb.admin.token');
const main = document.getElementById('main');
const nav = document.getElementById('nav');
let staff = JSON.parse(sessionStorage.getItem('gb.admin.staff') || 'null');

const canOperate = () => staff && (staff.role === 'owner' || staff.role === 'operator');
const canFinance = () => staff && (staff.role === 'owner' || staff.role === 'finance');

function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('show'), 4000);
}

function drawNav() {
  fill(nav, 
    staff ? h('a', { href: '#/' }, t('a.campaigns')) : null,
    canOperate() ? h('a', { href: '#/products' }, t('a.products')) : null,
    canFinance() ? h('a', { href: '#/finance' }, t('a.finance')) : null,
    staff ? h('button', { class: 'link', onclick: async () => {
      await api.del('/v1/sessions/current').catch(() => {});
      api.setToken(null);
      staff = null;
      sessionStorage.removeItem('gb.admin.staff');
      drawNav();
      router.go('/login');
    } }, t('nav.logout')) : null,
    langSwitch((l) => { setLang(l); translateStatic(); drawNav(); router.run(); }, getLang()));
}

function guard(fn) {
  return (params) => {
    if (!staff || !api.loggedIn()) { router.go('/login'); return undefined; }
    return fn(params).catch?.((err) => {
      mount(main, h('h1', {}, t('err.load')), h('p', { role: 'alert' }, err.message));
    });
  };
}

function field(name, label, input) {
  input.id = input.id || `f-${name}`;
  input.name = input.name || name;
  return h('div', { class: 'field', 'data-field': name }, h('label', { for: input.id }, label), input);
}

function table(headers, rows, opts = {}) {
  return h('table', { class: 'grid' },
    opts.caption ? h('caption', {}, opts.caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows),
    opts.foot ? h('tfoot', {}, opts.foot) : null);
}

// ---- login ---------------------------------------------------------

function loginPage() {
  const form = h('form', { class: 'auth', onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      const r = await api.post('/v1/admin/sessions',
        { login: f.get('login'), password: f.get('password') }, { login: true });
      api.setToken(r.token);
      staff = r.staff;
      sessionStorage.setItem('gb.admin.staff', JSON.stringify(staff));
      drawNav();
      router.go(staff.role === 'finance' ? '/finance' : '/');
    } catch (err) { showError(form, err); }
  } },
  field('login', t('f.login'), h('input', { autocomplete: 'username', required: true })),
  field('password', t('f.password'), h('input', { type: 'password', autocomplete: 'current-password', required: true })),
  h('button', { type: 'submit', class: 'primary' }, t('nav.login')));
  mount(main, h('h1', {}, t('a.staffLogin')), form);
}

// ---- products ------------------------------------------------------

async function productsPage() {
  const data = await api.get('/v1/admin/products?limit=200');
  const form = h('form', { class: 'inline-form', onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const cents = (v) => Math.round(parseFloat(v) * 100);
    try {
      await api.post('/v1/admin/products', {
        sku: f.get('sku'), name: f.get('name'), description: f.get('description') || '',
        list_price_cents: cents(f.get('list_price_cents')),
        cost_price_cents: cents(f.get('cost_price_cents')),
        stock: parseInt(f.get('stock'), 10),
      });
      toast(t('a.saved'));
      productsPage();
    } catch (err) { showError(form, err); }
  } },
  field('sku', 'SKU', h('input', { required: true })),
  field('name', t('a.name'), h('input', { required: true })),
  field('description', t('a.description'), h('input', {})),
  field('list_price_cents', t('a.listPrice'), h('input', { type: 'number', step: '0.01', min: '0', required: true })),
  field('cost_price_cents', t('a.costPrice'), h('input', { type: 'number', step: '0.01', min: '0', required: true })),
  field('stock', t('a.stock'), h('input', { type: 'number', min: '0', required: true })),
  h('button', { type: 'submit', class: 'primary' }, t('a.addProduct')));
  mount(main, h('h1', {}, t('a.products')),
    table(['ID', 'SKU', t('a.name'), t('a.listPrice'), t('a.costPrice'), t('a.stock')],
      data.items.map((p) => h('tr', {}, h('td', {}, p.id), h('td', {}, p.sku), h('td', {}, p.name),
        h('td', { class: 'num' }, money(p.list_price_cents)), h('td', { class: 'num' }, money(p.cost_price_cents)),
        h('td', { class: 'num' }, p.stock)))),
    h('h2', {}, t('a.addProduct')), form);
}

// ---- campaigns list --------------------------------------------------

async function campaignsPage() {
  const status = new URLSearchParams(location.hash.split('?')[1] || '').get('status') || '';
  const data = await api.get('/v1/admin/campaigns?limit=200' + (status ? `&status=${status}` : ''));
  const filter = h('select', { id: 'status-filter', onchange: (e) => router.go(e.target.value ? `/?status=${e.target.value}` : '/') },
    h('option', { value: '' }, t('a.all')),
    ['draft', 'scheduled', 'open', 'succeeded', 'failed', 'cancelled'].map((s) =>
      h('option', { value: s, selected: s === status }, t(`status.${s}`))));
  mount(main, h('h1', {}, t('a.campaigns')),
    h('div', { class: 'toolbar' },
      h('label', { for: 'status-filter' }, t('a.filterStatus')), filter,
      canOperate() ? h('a', { class: 'button primary', href: '#/campaigns/new' }, t('a.newCampaign')) : null),
    table([t('a.participants'), t('a.title'), t('a.status'), t('a.price'), t('a.endsAt')],
      data.items.slice().reverse().map((c) => h('tr', {},
        h('td', { class: 'num' }, c.progress ? c.progress.participants : '—'),
        h('td', {}, h('a', { href: `#/campaigns/${c.id}` }, c.title)),
        h('td', {}, h('span', { class: `badge s-${c.status}` }, t(`status.${c.status}`))),
        h('td', { class: 'num' }, money(c.final_unit_price_cents ?? c.progress?.current_unit_price_cents)),
        h('td', {}, dateTime(c.ends_at))))));
}

// ---- campaign editor -------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');
function toLocalInput(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocalInput = (v) => new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z');

// The price a count pays: the lowest tier whose threshold it reached
// (DESIGN.md: tiers ascend in threshold and descend in price).
export function priceAt(tiers, n) {
  let price = null;
  for (const tier of tiers) if (n >= tier.threshold) price = tier.unit_price_cents;
  return price;
}

function rowsEditor(name, cols, initial, onChange) {
  const body = h('tbody');
  const wrap = h('div', { class: 'rows-editor', 'data-field': name });
  function addRow(values = {}) {
    const tr = h('tr', {},
      cols.map((c) => h('td', {}, h('input', { type: 'number', step: c.step || '1', min: '0',
        'aria-label': c.label, 'data-key': c.key, value: values[c.key] ?? '', oninput: onChange }))),
      h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': t('a.removeRow'),
        onclick: () => { tr.remove(); onChange(); } }, '×')));
    body.append(tr);
  }
  initial.forEach(addRow);
  wrap.append(
    h('table', { class: 'grid compact' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.label)), h('th', {}, ''))), body),
    h('button', { type: 'button', class: 'secondary', onclick: () => { addRow(); onChange(); } }, t('a.addRow')));
  wrap.read = () => [...body.children].map((tr) => {
    const o = {};
    tr.querySelectorAll('input').forEach((i) => {
      const c = cols.find((x) => x.key === i.dataset.key);
      o[i.dataset.key] = c.money ? Math.round(parseFloat(i.value) * 100) : parseInt(i.value, 10);
    });
    return o;
  });
  return wrap;
}

async function editorPage({ id }) {
  const products = (await api.get('/v1/admin/products?limit=200')).items;
  const now = Date.now();
  const c = id ? await api.get(`/v1/admin/campaigns/${id}`) : {
    title: '', description: '', tier_basis: 'participants',
    starts_at: new Date(now).toISOString(), ends_at: new Date(now + 3 * 86400e3).toISOString(),
    tiers: [{ threshold: 1, unit_price_cents: 9900 }, { threshold: 10, unit_price_cents: 8900 }],
    min_participants: 10, max_quantity: 100, per_customer_limit: 2,
    deposit_policy: [{ min_score: 80, deposit_percent: 0 }, { min_score: 50, deposit_percent: 10 }, { min_score: 0, deposit_percent: 30 }],
    min_score: 0,
  };
  const preview = h('ol', { class: 'preview', 'aria-live': 'polite' });
  const tiers = rowsEditor('tiers', [
    { key: 'threshold', label: t('a.threshold') },
    { key: 'unit_price_cents', label: t('a.unitPrice'), money: true, step: '0.01' },
  ], c.tiers.map((x) => ({ threshold: x.threshold, unit_price_cents: (x.unit_price_cents / 100).toFixed(2) })), drawPreview);
  const policy = rowsEditor('deposit_policy', [
    { key: 'min_score', label: t('a.minScore') },
    { key: 'deposit_percent', label: t('a.depositPercent') },
  ], c.deposit_policy || [], () => {});
  const basis = h('select', { onchange: drawPreview },
    h('option', { value: 'participants', selected: c.tier_basis === 'participants' }, t('a.basisPeople')),
    h('option', { value: 'quantity', selected: c.tier_basis === 'quantity' }, t('a.basisUnits')));

  function drawPreview() {
    const rows = tiers.read().filter((x) => Number.isFinite(x.threshold) && Number.isFinite(x.unit_price_cents))
      .sort((a, b) => a.threshold - b.threshold);
    const last = rows.length ? rows[rows.length - 1].threshold : 0;
    const items = [];
    for (let n = 1; n <= last + 3 && n <= 200; n++) {
      const p = priceAt(rows, n);
      items.push(h('li', {}, t(basis.value === 'quantity' ? 'a.previewUnits' : 'a.previewPeople',
        { n, price: p === null ? '—' : money(p) })));
    }
    fill(preview, ...items);
  }

  const num = (name, label, v) => field(name, label, h('input', { type: 'number', min: '0', value: v ?? '' }));
  const form = h('form', { class: 'editor', onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = {
      product_id: parseInt(f.get('product_id'), 10), title: f.get('title'),
      description: f.get('description'),
      starts_at: fromLocalInput(f.get('starts_at')), ends_at: fromLocalInput(f.get('ends_at')),
      tier_basis: basis.value, tiers: tiers.read(),
      min_participants: parseInt(f.get('min_participants'), 10),
      max_quantity: parseInt(f.get('max_quantity'), 10),
      per_customer_limit: parseInt(f.get('per_customer_limit'), 10),
      deposit_policy: policy.read(), min_score: parseInt(f.get('min_score'), 10) || 0,
    };
    if (c.id && c.status !== 'draft') {
      // scheduled or open: only these may change (API.md)
      for (const k of Object.keys(body)) if (!['ends_at', 'description', 'tiers'].includes(k)) delete body[k];
    }
    try {
      const saved = c.id ? await api.patch(`/v1/admin/campaigns/${c.id}`, body)
        : await api.post('/v1/admin/campaigns', body);
      toast(t('a.saved'));
      router.go(`/campaigns/${saved.id}`);
    } catch (err) { showError(form, err); }
  } },
  field('product_id', t('a.product'), h('select', {}, products.map((p) =>
    h('option', { value: p.id, selected: p.id === c.product_id }, `${p.name} (${p.sku})`)))),
  field('title', t('a.title'), h('input', { required: true, value: c.title })),
  field('description', t('a.description'), h('textarea', {}, c.description || '')),
  field('starts_at', t('a.startsAt'), h('input', { type: 'datetime-local', value: toLocalInput(c.starts_at), required: true })),
  field('ends_at', t('a.endsAt'), h('input', { type: 'datetime-local', value: toLocalInput(c.ends_at), required: true })),
  field('tier_basis', t('a.tierBasis'), basis),
  h('fieldset', {}, h('legend', {}, t('a.tiers')), h('div', { class: 'tiers-layout' }, tiers,
    h('div', {}, h('h3', {}, t('a.preview')), preview))),
  num('min_participants', t('a.minParticipants'), c.min_participants),
  num('max_quantity', t('a.maxQuantity'), c.max_quantity),
  num('per_customer_limit', t('a.perCustomer'), c.per_customer_limit),
  num('min_score', t('a.minScoreJoin'), c.min_score),
  h('fieldset', {}, h('legend', {}, t('a.depositPolicy')), policy),
  h('button', { type: 'submit', class: 'primary' }, t('a.save')));
  mount(main, h('h1', {}, c.id ? t('a.editCampaign') : t('a.newCampaign')), form);
  drawPreview();
}

// ---- dashboard -------------------------------------------------------

async function dashboardPage({ id }) {
  let c = await api.get(`/v1/admin/campaigns/${id}`);
  const liveBox = h('section', { class: 'live', 'aria-live': 'polite' });
  const statsBox = h('section', {});
  const peopleBox = h('section', {});
  const actions = h('div', { class: 'toolbar' });

  function drawLive() {
    const p = c.progress || {};
    fill(liveBox, 
      h('p', { class: 'big-number' }, h('span', { class: 'participants' }, t('a.nParticipants', { n: p.participants ?? 0 })),
        ' · ', t('c.units', { n: p.quantity ?? 0 }), ' · ', h('strong', { class: 'price-now' }, money(p.current_unit_price_cents))),
      progressBar(c), ladder(c));
  }
  function drawStats() {
    const s = c.stats || {};
    const f = c.forecast || {};
    fill(statsBox, 
      h('h2', {}, t('a.stats')),
      table(Object.keys(s).map((k) => t(`pstatus.${k}`)), [h('tr', {}, Object.values(s).map((v) => h('td', { class: 'num' }, v)))]),
      h('p', { class: 'forecast' }, t('a.forecast', {
        n: (f.expected_participants ?? 0).toFixed(1), pct: Math.round((f.success_probability ?? 0) * 100),
      })));
  }
  async function drawPeople() {
    if (!canOperate()) return;
    const data = await api.get(`/v1/admin/campaigns/${id}/participations?limit=200`).catch(() => ({ items: [] }));
    fill(peopleBox, h('h2', {}, t('a.participantList')),
      table([t('a.score'), t('a.customer'), t('me.quantity'), t('me.status'), t('a.deposit')],
        data.items.map((p) => h('tr', {},
          h('td', { class: 'num' }, p.score ?? '—'),
          h('td', {}, h('a', { href: `#/customers/${p.customer_id}` }, `#${p.customer_id}`)),
          h('td', { class: 'num' }, p.quantity),
          h('td', {}, t(`pstatus.${p.status}`)),
          h('td', { class: 'num' }, `${money(p.deposit_paid_cents)} / ${money(p.deposit_cents)}`)))));
  }
  async function reload() {
    c = await api.get(`/v1/admin/campaigns/${id}`);
    drawLive(); drawStats(); drawPeople(); drawActions();
  }
  async function act(fn) {
    // the whole page again: the heading's status, and the event stream
    // that a draft did not have
    try { await fn(); toast(t('a.saved')); router.run(); } catch (err) { toast(err.message); }
  }
  function drawActions() {
    if (!canOperate()) { fill(actions, ); return; }
    const extendInput = h('input', { id: 'extend-to', type: 'datetime-local', value: toLocalInput(c.ends_at) });
    fill(actions, 
      c.status === 'draft' ? h('a', { class: 'button secondary', href: `#/campaigns/${id}/edit` }, t('a.edit')) : null,
      c.status === 'draft' ? h('button', { class: 'primary publish', onclick: () => act(() => api.post(`/v1/admin/campaigns/${id}/publish`, {})) }, t('a.publish')) : null,
      ['scheduled', 'open'].includes(c.status) ? [
        h('label', { for: 'extend-to' }, t('a.extendTo')), extendInput,
        h('button', { class: 'secondary', onclick: () => act(() => api.patch(`/v1/admin/campaigns/${id}`, { ends_at: fromLocalInput(extendInput.value) })) }, t('a.extend'))] : null,
      ['draft', 'scheduled', 'open'].includes(c.status) ? h('button', { class: 'danger', onclick: () => {
        if (confirm(t('a.cancelConfirm'))) act(() => api.post(`/v1/admin/campaigns/${id}/cancel`, {}));
      } }, t('a.cancel')) : null);
  }
  mount(main, h('h1', {}, c.title, ' ', h('span', { class: `badge s-${c.status}` }, t(`status.${c.status}`))),
    h('p', { class: 'muted' }, `${dateTime(c.starts_at)} → ${dateTime(c.ends_at)}`),
    actions, liveBox, statsBox, peopleBox);
  drawLive(); drawStats(); drawActions(); drawPeople();
  if (['draft'].includes(c.status)) return undefined;
  let pending = null;
  return watchCampaign(id, (ev) => {
    c.progress = ev.progress;
    c.status = ev.status;
    drawLive();
    // stats and forecast come from the staff view: fetched once the burst settles
    clearTimeout(pending);
    pending = setTimeout(() => reload().catch(() => {}), 500);
  });
}

// ---- customer ------------------------------------------------------

async function customerPage({ id }) {
  const data = await api.get(`/v1/admin/customers/${id}`);
  const r = data.reliability;
  const vip = h('select', { id: 'vip' }, [0, 1, 2, 3].map((v) => h('option', { value: v, selected: v === r.vip_level }, `VIP ${v}`)));
  const form = h('form', { class: 'inline-form', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api.put(`/v1/admin/customers/${id}/vip`, { vip_level: parseInt(vip.value, 10) });
      toast(t('a.saved'));
      customerPage({ id });
    } catch (err) { showError(form, err); }
  } }, h('div', { class: 'field', 'data-field': 'vip_level' }, h('label', { for: 'vip' }, t('a.vip')), vip),
  h('button', { type: 'submit', class: 'primary' }, t('a.save')));
  mount(main, h('h1', {}, data.customer.display_name || `#${id}`),
    h('p', { class: 'big-number' }, t('a.scoreIs', { score: r.score, p: Math.round(r.p_complete * 100) })),
    table([t('a.ev.completed'), t('a.ev.withdrawn'), t('a.ev.defaulted'), t('a.ev.deposit_expired')],
      [h('tr', {}, ['completed', 'withdrawn', 'defaulted', 'deposit_expired'].map((k) => h('td', { class: 'num' }, r.events[k])))]),
    form);
}

// ---- finance -------------------------------------------------------

const TOTALS = ['quantity', 'gross_cents', 'forfeited_cents', 'commission_cents', 'manufacturer_cents',
  'distributor_net_cents', 'received_cents', 'refunded_cents'];

// received − refunded must equal what was split (DESIGN.md "Settlement")
function reconciliation(tot) {
  const diff = (tot.received_cents - tot.refunded_cents)
    - (tot.commission_cents + tot.manufacturer_cents + tot.distributor_net_cents + (tot.leader_commission_cents || 0));
  return diff === 0 ? h('span', { class: 'ok', title: t('f.reconciled') }, '✓ ', t('f.reconciled'))
    : h('span', { class: 'bad' }, t('f.diff', { amount: money(diff) }));
}

const cell = (k, v) => h('td', { class: 'num' }, k === 'quantity' ? v : money(v));

async function financePage() {
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const today = new Date();
  const from = q.get('from') || `${today.getFullYear()}-${pad(today.getMonth() + 1)}-01`;
  const to = q.get('to') || new Date(today.getTime() + 86400e3).toISOString().slice(0, 10);
  const range = `from=${from}T00:00:00Z&to=${to}T00:00:00Z`;
  const data = await api.get(`/v1/admin/settlements?${range}&limit=200`);
  const sum = Object.fromEntries(TOTALS.map((k) => [k, 0]));
  data.items.forEach((s) => TOTALS.forEach((k) => { sum[k] += s.totals[k] || 0; }));
  const picker = h('form', { class: 'inline-form', onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(picker);
    router.go(`/finance?from=${f.get('from')}&to=${f.get('to')}`);
  } },
  field('from', t('f.from'), h('input', { type: 'date', value: from })),
  field('to', t('f.to'), h('input', { type: 'date', value: to })),
  h('button', { type: 'submit', class: 'secondary' }, t('f.show')));
  const bom = h('input', { type: 'checkbox', id: 'bom' });
  const download = h('button', { class: 'primary download', onclick: async () => {
    try {
      const res = await api.get(`/v1/admin/exports/settlements.csv?${range}${bom.checked ? '&bom=1' : ''}`, { raw: true });
      const blob = await res.blob();
      const a = h('a', { href: URL.createObjectURL(blob), download: `settlements-${from}-${to}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) { toast(err.message); }
  } }, t('f.download'));
  mount(main, h('h1', {}, t('a.finance')), picker,
    h('div', { class: 'toolbar' }, download, h('label', { for: 'bom', class: 'check' }, bom, t('f.bom'))),
    table([t('f.campaign'), t('f.settledAt'), ...TOTALS.map((k) => t(`f.${k}`)), t('f.reconciliation')],
      data.items.map((s) => h('tr', {},
        h('td', {}, h('a', { href: `#/finance/${s.campaign_id}` }, s.campaign_title || `#${s.campaign_id}`)),
        h('td', {}, dateTime(s.settled_at)),
        TOTALS.map((k) => cell(k, s.totals[k])),
        h('td', {}, reconciliation(s.totals)))),
      { foot: h('tr', { class: 'totals' }, h('th', { scope: 'row' }, t('f.total')), h('td', {}),
        TOTALS.map((k) => cell(k, sum[k])), h('td', {}, reconciliation(sum))) }));
}

async function settlementPage({ id }) {
  const s = await api.get(`/v1/admin/settlements/${id}`);
  const cols = ['quantity', 'gross_cents', 'forfeited_cents', 'commission_cents', 'manufacturer_cents', 'distributor_net_cents'];
  mount(main, h('h1', {}, s.campaign_title || `#${s.campaign_id}`),
    h('p', {}, t('f.unitPrice', { price: money(s.unit_price_cents) }), ' · ', dateTime(s.settled_at), ' · ', reconciliation(s.totals)),
    table([t('f.participation'), t('a.customer'), t('me.status'), ...cols.map((k) => t(`f.${k}`))],
      s.lines.map((l) => h('tr', {}, h('td', {}, `#${l.participation_id}`), h('td', {}, `#${l.customer_id}`),
        h('td', {}, t(`pstatus.${l.status}`)), cols.map((k) => cell(k, l[k])))),
      { foot: h('tr', { class: 'totals' }, h('th', { scope: 'row', colspan: '3' }, t('f.total')), cols.map((k) => cell(k, s.totals[k]))) }),
    h('a', { href: '#/finance' }, t('f.back')));
}

const router = makeRouter({
  '/login': loginPage,
  '/': guard(campaignsPage),
  '/\\?.*': guard(campaignsPage),
  '/products': guard(productsPage),
  '/campaigns/new': guard(editorPage),
  '/campaigns/:id/edit': guard(editorPage),
  '/campaigns/:id': guard(dashboardPage),
  '/customers/:id': guard(customerPage),
  '/finance': guard(financePage),
  '/finance\\?.*': guard(financePage),
  '/finance/:id': guard(settlementPage),
}, () => mount(main, h('h1', {}, t('err.notFound'))));

translateStatic();
drawNav();
router.run();
