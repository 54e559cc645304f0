// ui.js - small DOM helpers shared by both apps: h() builds elements (text
// is always set as text, never parsed as HTML), plus the pieces both apps
// show: the price ladder, the progress bar, the live event streams, and
// errors in the user's language from the error's code.
import { t, has } from './i18n.js';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
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

// Moves the focus to el (a heading or a message that says what an action
// did), making it focusable without putting it in the tab order.
export function focusOn(el) {
  if (!el) return;
  if (!el.hasAttribute('tabindex')) el.tabIndex = -1;
  el.focus({ preventScroll: false });
}

// An error in the user's language, from its code (API.md's table) and the
// field it names: 'err.<code>.<field>' when the dictionary has it, then
// 'err.<code>', then a sentence that names the code. The server's own
// message (English) is never shown alone.
export function errorText(err, scope) {
  const code = err.code || 'unknown';
  const keys = [];
  if (scope && err.field) keys.push(`err.${scope}.${code}.${err.field}`);
  if (scope) keys.push(`err.${scope}.${code}`);
  if (err.field) keys.push(`err.${code}.${err.field}`);
  keys.push(`err.${code}`);
  const key = keys.find(has);
  return key ? t(key) : t('err.unknown', { code: err.status ? `${err.status} ${code}` : code });
}

// An error next to its field (data-field on the wrapper), else in the form;
// text replaces the server's message (errorText), and the focus moves to
// the field at fault, or to the message.
export function showError(form, err, text) {
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const msg = text ?? (err.code === 'network' ? t('err.network') : err.message);
  let at = err.field && form.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
  const input = at && at.querySelector('input, select, textarea');
  const box = h('p', { class: 'field-error', role: 'alert', id: `err-${Math.random().toString(36).slice(2)}` }, msg);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', box.id);
  }
  (at || form).append(box);
  return box;
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

// The time until iso: "1天 03:04:05" / "03:04:05".
export function duration(iso, now = Date.now()) {
  let s = Math.max(0, Math.floor((new Date(iso).getTime() - now) / 1000));
  const d = Math.floor(s / 86400); s %= 86400;
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return (d ? t('c.days', { n: d }) + ' ' : '') + `${hh}:${mm}:${ss}`;
}

// "剩余 1天 03:04:05" / "剩余 03:04:05"
export function countdown(endsAt, now = Date.now()) {
  return t('c.left', { time: duration(endsAt, now) });
}

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

// An event stream that stays up: EventSource reconnects by itself (with
// Last-Event-ID) after a dropped connection, but gives up for good on an
// answer that is not a stream (a 503 while the server restarts, a 404);
// then a new one is opened after a pause that doubles up to 15 s.
// onLive(true | false) says whether the stream is connected, so that the
// page can mark what it shows as stale meanwhile. onEvent gets the parsed
// data of each event; it returns true when the stream may end (every
// campaign it follows has ended). Returns the function that closes it.
function keepStream(url, onEvent, onLive) {
  if (typeof EventSource === 'undefined') return () => {};
  let es = null;
  let timer = null;
  let pause = 1000;
  let closed = false;
  let done = false;
  const live = (v) => { if (onLive) onLive(v); };
  const open = () => {
    es = new EventSource(url);
    es.onopen = () => { pause = 1000; live(true); };
    const handle = (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch { return; /* a malformed event is ignored */ }
      if (onEvent(data, ev.type)) { done = true; close(); }
    };
    es.addEventListener('progress', handle);
    es.addEventListener('status', handle);
    es.onerror = () => {
      if (closed || done) return;
      live(false);
      if (es.readyState === EventSource.CLOSED) {
        clearTimeout(timer);
        timer = setTimeout(() => { if (!closed) open(); }, pause);
        pause = Math.min(pause * 2, 15000);
      }
    };
  };
  function close() {
    closed = true;
    clearTimeout(timer);
    if (es) es.close();
  }
  open();
  return close;
}

// Follows /v1/campaigns/{id}/events; onState gets {status, progress}.
export function watchCampaign(id, onState, onLive) {
  return keepStream(`/v1/campaigns/${id}/events`, (data) => {
    onState(data);
    return TERMINAL.includes(data.status);
  }, onLive);
}

// Follows up to 50 campaigns on ONE stream (/v1/campaigns/events?ids=):
// a page of many cards must not open a connection per card (browsers
// allow six per host). onState gets each event's {campaign_id, status,
// progress}.
export function watchCampaigns(ids, onState, onLive) {
  if (ids.length === 0) return () => {};
  const left = new Set(ids);
  return keepStream(`/v1/campaigns/events?ids=${ids.join(',')}`, (data) => {
    onState(data);
    if (TERMINAL.includes(data.status)) left.delete(data.campaign_id);
    return left.size === 0;
  }, onLive);
}

export function langSwitch(setLang, current, short = false) {
  const sel = h('select', { 'aria-label': t('lang.label'), class: 'lang',
    onchange: (e) => setLang(e.target.value) },
  h('option', { value: 'zh-CN', selected: current === 'zh-CN' }, '中文'),
  h('option', { value: 'en', selected: current === 'en' }, short ? 'EN' : 'English'));
  return sel;
}
