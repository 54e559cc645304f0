// ui.js - small DOM helpers shared by both apps: h() builds elements (text
// is always set as text, never parsed as HTML), plus the pieces both apps
// show: the price ladder, the progress bar, a live event stream.
import { t } from './i18n.js';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// Replaces el's children; arrays are flattened, null/false left out.
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : String(c))));
}

export function mount(root, ...children) {
  fill(root, ...children);
  const heading = root.querySelector('h1, h2');
  if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
}

// An error next to its field (data-field on the wrapper), else in the form.
export function showError(form, err) {
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const msg = err.code === 'network' ? t('err.network') : err.message;
  let at = err.field && form.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
  const input = at && at.querySelector('input, select, textarea');
  if (input) input.setAttribute('aria-invalid', 'true');
  const box = h('p', { class: 'field-error', role: 'alert' }, msg);
  (at || form).append(box);
}

export function ladder(campaign) {
  const p = campaign.progress || {};
  const count = campaign.tier_basis === 'quantity' ? p.quantity : p.participants;
  return h('ol', { class: 'ladder', 'aria-label': t('c.ladder') },
    campaign.tiers.map((tier) => {
      const reached = count >= tier.threshold && tier.unit_price_cents === p.current_unit_price_cents;
      return h('li', { class: reached ? 'tier reached' : (count >= tier.threshold ? 'tier passed' : 'tier') },
        h('span', {}, t(campaign.tier_basis === 'quantity' ? 'c.tierUnits' : 'c.tierPeople', { n: tier.threshold })),
        h('strong', {}, money(tier.unit_price_cents)));
    }));
}

// The bar fills toward the next tier (or the cap at the last tier).
export function progressBar(campaign) {
  const p = campaign.progress || {};
  const count = campaign.tier_basis === 'quantity' ? p.quantity : p.participants;
  const target = p.next_tier ? p.next_tier.threshold : Math.max(count, 1);
  const pct = Math.max(0, Math.min(100, Math.round((count / target) * 100)));
  const fill = h('div', { class: 'bar-fill' });
  fill.style.width = pct + '%';
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': '0',
    'aria-valuemax': String(target), 'aria-valuenow': String(count),
    'aria-label': t('c.progress') }, fill);
}

export function money(cents) {
  if (cents === null || cents === undefined) return '—';
  const neg = cents < 0;
  const a = Math.abs(cents);
  return (neg ? '-' : '') + '¥' + Math.floor(a / 100) + '.' + String(a % 100).padStart(2, '0');
}

export function dateTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(document.documentElement.lang, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
}

// "剩余 1天 03:04:05" / "03:04:05"
export function countdown(endsAt, now = Date.now()) {
  let s = Math.max(0, Math.floor((new Date(endsAt).getTime() - now) / 1000));
  const d = Math.floor(s / 86400); s %= 86400;
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return t('c.left', { time: (d ? t('c.days', { n: d }) + ' ' : '') + `${hh}:${mm}:${ss}` });
}

// Follows /v1/campaigns/{id}/events; onState gets {status, progress}.
// EventSource reconnects by itself and sends Last-Event-ID.
export function watchCampaign(id, onState) {
  if (typeof EventSource === 'undefined') return () => {};
  const es = new EventSource(`/v1/campaigns/${id}/events`);
  const handle = (ev) => {
    try { onState(JSON.parse(ev.data)); } catch { /* a malformed event is ignored */ }
  };
  es.addEventListener('progress', handle);
  es.addEventListener('status', (ev) => {
    handle(ev);
    const s = JSON.parse(ev.data).status;
    if (['succeeded', 'failed', 'cancelled'].includes(s)) es.close();
  });
  return () => es.close();
}

export function langSwitch(setLang, current) {
  const sel = h('select', { 'aria-label': t('lang.label'), class: 'lang',
    onchange: (e) => setLang(e.target.value) },
  h('option', { value: 'zh-CN', selected: current === 'zh-CN' }, '中文'),
  h('option', { value: 'en', selected: current === 'en' }, 'English'));
  return sel;
}
