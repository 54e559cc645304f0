// admin/stock.js - a product's stock in its four buckets (docs/domain.md
// "Stock"): the list of products with what each holds, reserves for its
// live campaigns, has committed to closed campaigns' buyers, has left and
// has sold; and a product's stock editor (PUT /v1/admin/products/{id}/stock
// against the stock_version read). The server decides: a stock below what
// campaigns hold is refused next to the field with the figure it must
// reach, and an edit made on figures that moved meanwhile (a shipment, a
// return, another edit) is refused, the new figures shown, so that staff
// decide again on what is true now.
import { t } from '../lib/i18n.js';
import { h, fill, mount } from '../lib/ui.js';
import { api, main, can, toast, field, form, fetchAll, dataTable, empty, numCell } from './shell.js';
import { show } from './shell.js';

const BUCKETS = ['stock', 'reserved', 'committed', 'available', 'sold'];

// The five figures of a product, as a definition list with a hint each.
function buckets(p) {
  return h('dl', { class: 'facts stock-buckets', id: 'stock-buckets' },
    BUCKETS.flatMap((k) => [
      h('dt', {}, t(`sk.${k}`)),
      h('dd', { 'data-bucket': k }, h('strong', {}, p[k]), ' ', h('span', { class: 'hint' }, t(`sk.${k}Hint`))),
    ]));
}

async function stockList({ ctx }) {
  const items = await fetchAll('/v1/admin/products');
  show(ctx, h('h1', {}, t('sk.title')), h('p', { class: 'hint' }, t('sk.intro')),
    dataTable(items, {
      id: 'stock',
      caption: t('sk.title'),
      columns: [{ label: t('a.name') }, { label: 'SKU' }, ...BUCKETS.map((k) => ({ label: t(`sk.${k}`), num: true }))],
      text: (p) => `${p.name} ${p.sku}`,
      empty: empty(t('pr.none'), h('a', { href: '#/products' }, t('a.addProduct'))),
      row: (p) => h('tr', { 'data-product': p.id },
        h('td', {}, h('a', { href: `#/stock/${p.id}` }, p.name)),
        h('td', {}, p.sku),
        BUCKETS.map((k) => numCell(k === 'available' && p.available === 0
          ? h('span', { class: 'bad' }, p.available) : p[k]))),
    }));
}

async function stockPage({ id, ctx }) {
  let p = await api.get(`/v1/admin/products/${id}`);
  const figures = h('div', { 'aria-live': 'polite' });
  const input = h('input', { type: 'number', min: '0', step: '1', inputmode: 'numeric', required: true });
  const edit = form({ class: 'editor stock-edit', id: 'stock-edit' }, async (f, el) => {
    const stock = Number(f.get('stock'));
    try {
      p = await api.put(`/v1/admin/products/${id}/stock`, { stock, stock_version: p.stock_version });
    } catch (err) {
      if (err.status === 409 && err.code === 'conflict') {
        // the figures moved: show them, keep what was typed, decide again
        p = await api.get(`/v1/admin/products/${id}`);
        draw(false);
        throw Object.assign(err, { field: 'stock', message: t('sk.conflict', { stock: p.stock }) });
      }
      if (err.status === 409 && err.code === 'invalid_state') {
        throw Object.assign(err, { field: 'stock', message: t('sk.belowHeld', { held: p.reserved + p.committed }) });
      }
      throw err;
    }
    el.querySelectorAll('.field-error').forEach((e) => e.remove());
    draw(true);
    toast(t('a.saved'));
  },
  field('stock', t('sk.newStock'), input, t('sk.newStockHint')),
  h('button', { type: 'submit', class: 'primary' }, t('a.save')));
  function draw(resetInput) {
    fill(figures, buckets(p));
    if (resetInput) input.value = String(p.stock);
  }
  draw(true);
  show(ctx, h('h1', {}, t('sk.edit', { name: p.name })), h('p', { class: 'hint' }, `SKU ${p.sku}`),
    figures, edit, h('p', {}, h('a', { href: '#/stock' }, t('sk.back'))));
}

export default {
  routes: {
    '/stock': { page: stockList, allowed: can.operate },
    '/stock/:id': { page: stockPage, allowed: can.operate },
  },
  nav: { href: '#/stock', label: 'sk.title', order: 21, allowed: can.operate,
    match: (p) => p.startsWith('/stock') },
};
