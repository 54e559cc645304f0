// admin/shell.js - what every screen of the staff and finance app shares:
// the API door and the signed-in staff member (with what the role may
// do), the page's main element and toast, form fields, tables that page
// and search, empty states, statuses in words, downloads. Screens import
// from here and from ../lib; app.js routes to them.
import { makeApi } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { h, fill, mount, showError, money } from '../lib/ui.js';

export const api = makeApi('gb.admin.token');
export const main = document.getElementById('main');

// Draws a page into main, unless the user has moved on while it loaded:
// ctx.alive() turns false as soon as another route has run, and a late
// page must not draw over the newer one.
export function show(ctx, ...children) {
  if (ctx && ctx.alive && !ctx.alive()) return;
  mount(main, ...children);
}

// ---- who is signed in --------------------------------------------------

let staff = JSON.parse(sessionStorage.getItem('gb.admin.staff') || 'null');

export function currentStaff() { return staff; }

export function setStaff(s) {
  staff = s;
  if (s) sessionStorage.setItem('gb.admin.staff', JSON.stringify(s));
  else sessionStorage.removeItem('gb.admin.staff');
}

// What each role may do (API.md "Staff": owner everything in its
// distributor; operator products, campaigns, participations, customers,
// fulfilment; finance reads campaigns, settlements, exports and the
// after-sales queue). The server refuses the rest (403); the menu only
// leaves out what would be refused.
export const can = {
  operate: () => !!staff && (staff.role === 'owner' || staff.role === 'operator'),
  finance: () => !!staff && (staff.role === 'owner' || staff.role === 'finance'),
  own: () => !!staff && staff.role === 'owner',
  any: () => !!staff,
};

// ---- page helpers ------------------------------------------------------

export function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('show'), 4000);
}

// An error for a toast: the network's in words, else the server's message.
export function errorText(err) {
  return err.code === 'network' ? t('err.network') : (err.message || t('err.load'));
}

export function field(name, label, input, hint) {
  input.id = input.id || `f-${name}`;
  input.name = input.name || name;
  const help = hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  if (help) input.setAttribute('aria-describedby', help.id);
  return h('div', { class: 'field', 'data-field': name }, h('label', { for: input.id }, label), input, help);
}

// Yuan typed by a person (12.5, "12.50") -> integer cents, or NaN.
export function cents(v) {
  const s = String(v ?? '').trim();
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return NaN;
  const [yuan, fen = ''] = s.split('.');
  return Number(yuan) * 100 + Number(fen.padEnd(2, '0'));
}

export const yuan = (c) => (c === null || c === undefined ? '' : (c / 100).toFixed(2));

// A status as a word: t('<kind>.<key>'), never the key itself (an unknown
// one is shown spelled out, so that a status added later still reads).
export function word(kind, key) {
  const k = `${kind}.${key}`;
  const s = t(k);
  return s === k ? String(key).replace(/_/g, ' ') : s;
}

export function badge(kind, key) {
  return h('span', { class: `badge s-${key}` }, word(kind, key));
}

// An empty state: what is missing and what to do next (a link or a
// button), in place of a bare table header.
export function empty(message, next) {
  return h('div', { class: 'empty', role: 'status' }, h('p', {}, message), next || null);
}

export function numCell(v) { return h('td', { class: 'num' }, v); }
export function moneyCell(v) { return h('td', { class: 'num' }, money(v)); }

// Every page of a list (API.md: ?limit= up to 200, ?after=), at most
// `cap` items (a distributor's back office lists hundreds, not millions).
export async function fetchAll(path, cap = 5000) {
  const sep = path.includes('?') ? '&' : '?';
  const items = [];
  let after = null;
  do {
    const page = await api.get(`${path}${sep}limit=200${after ? `&after=${after}` : ''}`);
    items.push(...page.items);
    after = page.next_after;
  } while (after && items.length < cap);
  return items;
}

// A table of rows that pages (25 a page) and searches in what is loaded:
// opts.columns [{label, num?}], opts.row(item) -> <tr>, opts.text(item) ->
// what the search box matches, opts.empty -> the empty state when there is
// nothing at all, opts.caption for screen readers. Returns an element.
export function dataTable(items, opts) {
  const pageSize = opts.pageSize || 25;
  const wrap = h('div', { class: 'data-table' });
  if (items.length === 0) {
    fill(wrap, opts.empty);
    return wrap;
  }
  let page = 0;
  let query = '';
  const searchId = `q-${opts.id || 'table'}`;
  const search = opts.text ? h('input', {
    type: 'search', id: searchId, class: 'search', placeholder: t('ad.search'),
    oninput: (e) => { query = e.target.value.trim().toLowerCase(); page = 0; draw(); },
  }) : null;
  const body = h('div', {});
  function draw() {
    const shown = query ? items.filter((it) => opts.text(it).toLowerCase().includes(query)) : items;
    const pages = Math.max(1, Math.ceil(shown.length / pageSize));
    page = Math.min(page, pages - 1);
    const slice = shown.slice(page * pageSize, (page + 1) * pageSize);
    fill(body,
      shown.length === 0 ? empty(t('ad.noMatch', { q: query })) : h('table', { class: 'grid' },
        opts.caption ? h('caption', { class: 'sr-only' }, opts.caption) : null,
        h('thead', {}, h('tr', {}, opts.columns.map((c) =>
          h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
        h('tbody', {}, slice.map(opts.row))),
      pages > 1 ? h('nav', { class: 'pager', 'aria-label': t('ad.pages') },
        h('button', { type: 'button', class: 'secondary prev', disabled: page === 0,
          onclick: () => { page--; draw(); } }, t('ad.prev')),
        h('span', { 'aria-live': 'polite' }, t('ad.pageOf', { n: page + 1, of: pages, total: shown.length })),
        h('button', { type: 'button', class: 'secondary next', disabled: page >= pages - 1,
          onclick: () => { page++; draw(); } }, t('ad.next'))) : null);
  }
  fill(wrap, search ? h('div', { class: 'toolbar' },
    h('label', { for: searchId, class: 'sr-only' }, t('ad.search')), search) : null, body);
  draw();
  return wrap;
}

// A form that posts: onsubmit gets the FormData; an error is shown next to
// the field it names (lib/ui.js showError).
export function form(attrs, submit, ...children) {
  const el = h('form', { ...attrs, onsubmit: async (e) => {
    e.preventDefault();
    const button = el.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    try {
      await submit(new FormData(el), el);
    } catch (err) {
      showError(el, err);
    } finally {
      if (button) button.disabled = false;
    }
  } }, ...children);
  return el;
}

// Fetches path (an export) with the token and saves it under filename.
export async function download(path, filename) {
  const res = await api.get(path, { raw: true });
  const blob = await res.blob();
  const a = h('a', { href: URL.createObjectURL(blob), download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// The query of the hash route ("#/finance?from=..."), as URLSearchParams.
export const hashQuery = () => new URLSearchParams(location.hash.split('?')[1] || '');

export const pad = (n) => String(n).padStart(2, '0');

export function localDate(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// "2026-12-05" (a local date) -> the RFC 3339 instant of its local midnight.
export const dayStart = (day) => new Date(`${day}T00:00:00`).toISOString().replace(/\.\d{3}Z$/, 'Z');

// A phone or e-mail already masked by the server, shown as it is; a
// customer as "name · login".
export function customerLabel(c) {
  if (!c) return '—';
  return `${c.display_name} · ${c.login}`;
}
