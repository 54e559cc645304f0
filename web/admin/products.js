// admin/products.js - the catalogue: the list (search, pages), a new
// product, and a product's edit page (name, description, list and cost
// price: PATCH /v1/admin/products/{id}; the SKU and the stock are shown,
// not edited here).
import { t } from '../lib/i18n.js';
import { h, mount, money } from '../lib/ui.js';
import { api, main, can, toast, field, form, cents, yuan, fetchAll, dataTable, empty } from './shell.js';
import { margin } from './editor.js';
import { show } from './shell.js';

function marginCell(p) {
  const m = margin(p.list_price_cents, p.cost_price_cents);
  return h('td', { class: `num${m && m.cents < 0 ? ' bad' : ''}` }, m ? `${m.percent}%` : '—');
}

const priceInput = (value) => h('input', { type: 'number', step: '0.01', min: '0', inputmode: 'decimal', required: true,
  value: value === undefined ? '' : yuan(value) });

async function productsPage({ ctx }) {
  const items = await fetchAll('/v1/admin/products');
  const create = form({ class: 'inline-form', id: 'new-product' }, async (f) => {
    await api.post('/v1/admin/products', {
      sku: f.get('sku'), name: f.get('name'), description: f.get('description') || '',
      list_price_cents: cents(f.get('list_price_cents')),
      cost_price_cents: cents(f.get('cost_price_cents')),
      stock: Number(f.get('stock')),
    });
    toast(t('a.saved'));
    ctx.run();
  },
  field('sku', 'SKU', h('input', { required: true })),
  field('name', t('a.name'), h('input', { required: true })),
  field('description', t('a.description'), h('input', {})),
  field('list_price_cents', t('a.listPrice'), priceInput()),
  field('cost_price_cents', t('a.costPrice'), priceInput()),
  field('stock', t('a.stock'), h('input', { type: 'number', min: '0', required: true })),
  h('button', { type: 'submit', class: 'primary' }, t('a.addProduct')));
  show(ctx, h('h1', {}, t('a.products')),
    dataTable(items, {
      id: 'products',
      caption: t('a.products'),
      columns: [{ label: t('a.name') }, { label: 'SKU' }, { label: t('a.listPrice'), num: true },
        { label: t('a.costPrice'), num: true }, { label: t('pr.marginCol'), num: true }, { label: t('a.stock'), num: true }],
      text: (p) => `${p.name} ${p.sku} ${p.description}`,
      empty: empty(t('pr.none'), h('button', { type: 'button', class: 'secondary',
        onclick: () => document.getElementById('f-sku').focus() }, t('pr.addBelow'))),
      row: (p) => h('tr', {},
        h('td', {}, h('a', { href: `#/products/${p.id}` }, p.name)),
        h('td', {}, p.sku),
        h('td', { class: 'num' }, money(p.list_price_cents)),
        h('td', { class: 'num' }, money(p.cost_price_cents)),
        marginCell(p),
        h('td', { class: 'num' }, p.stock)),
    }),
    h('h2', {}, t('a.addProduct')), create);
}

async function productPage({ id, ctx }) {
  const p = await api.get(`/v1/admin/products/${id}`);
  const edit = form({ class: 'editor product-edit' }, async (f) => {
    const body = {};
    if (f.get('name') !== p.name) body.name = f.get('name');
    if (f.get('description') !== p.description) body.description = f.get('description');
    const list = cents(f.get('list_price_cents'));
    const cost = cents(f.get('cost_price_cents'));
    if (list !== p.list_price_cents) body.list_price_cents = list;
    if (cost !== p.cost_price_cents) body.cost_price_cents = cost;
    if (Object.keys(body).length === 0) { toast(t('pr.unchanged')); return; }
    await api.patch(`/v1/admin/products/${id}`, body);
    toast(t('a.saved'));
    ctx.go('/products');
  },
  h('dl', { class: 'facts' }, h('dt', {}, 'SKU'), h('dd', {}, p.sku), h('dt', {}, t('a.stock')),
    h('dd', {}, p.stock, ' · ', h('a', { href: `#/stock/${p.id}` }, t('sk.manage')))),
  field('name', t('a.name'), h('input', { required: true, value: p.name })),
  field('description', t('a.description'), h('textarea', {}, p.description)),
  field('list_price_cents', t('a.listPrice'), priceInput(p.list_price_cents), t('pr.listHint')),
  field('cost_price_cents', t('a.costPrice'), priceInput(p.cost_price_cents), t('pr.costHint')),
  h('button', { type: 'submit', class: 'primary' }, t('a.save')));
  show(ctx, h('h1', {}, t('pr.edit', { name: p.name })), edit, h('p', {}, h('a', { href: '#/products' }, t('pr.back'))));
}

export default {
  routes: {
    '/products': { page: productsPage, allowed: can.operate },
    '/products/:id': { page: productPage, allowed: can.operate },
  },
  nav: { href: '#/products', label: 'a.products', order: 20, allowed: can.operate,
    match: (p) => p.startsWith('/products') },
};
