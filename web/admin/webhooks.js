// admin/webhooks.js - the distributor's webhook endpoints (owner): the
// list, a new endpoint (its signing secret shown once, right after
// creation, and never again), and an endpoint's page: its settings, the
// delivery log by status, and a retry of a failed delivery.
import { t } from '../lib/i18n.js';
import { h, fill, mount, dateTime } from '../lib/ui.js';
import { api, main, can, toast, errorText, field, form, fetchAll, dataTable, empty, word } from './shell.js';
import { show } from './shell.js';

export const FAMILIES = ['*', 'campaign.*', 'participation.*', 'order.*', 'after_sales.*', 'refund.*'];

function eventsBox(selected = ['*']) {
  return h('fieldset', { 'data-field': 'events' }, h('legend', {}, t('wh.events')),
    FAMILIES.map((f) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'events', value: f, checked: selected.includes(f) }), t(`wh.family.${f}`))),
    field('more_events', t('wh.moreEvents'), h('input', { value: selected.filter((e) => !FAMILIES.includes(e)).join(', ') }),
      t('wh.moreHint')));
}

function eventsOf(f) {
  return [...f.getAll('events'), ...String(f.get('more_events') || '').split(/[\s,]+/).filter(Boolean)];
}

async function webhooksPage({ ctx }) {
  const items = await fetchAll('/v1/admin/webhooks');
  const secretBox = h('div', { 'aria-live': 'polite' });
  const create = form({ class: 'editor', id: 'new-webhook' }, async (f, el) => {
    const made = await api.post('/v1/admin/webhooks', {
      url: f.get('url'), events: eventsOf(f), description: f.get('description') || '',
    });
    el.reset();
    // the secret is in this answer only: shown here once, kept nowhere
    fill(secretBox, h('div', { class: 'secret notice', role: 'status' },
      h('h2', { tabindex: '-1' }, t('wh.secretTitle')),
      h('p', {}, t('wh.secretOnce')),
      h('p', {}, h('code', { class: 'secret-value' }, made.secret), ' ',
        h('button', { type: 'button', class: 'secondary', onclick: () => navigator.clipboard?.writeText(made.secret)
          .then(() => toast(t('wh.copied')), () => toast(t('wh.copyFailed'))) }, t('wh.copy'))),
      h('p', {}, h('a', { href: `#/webhooks/${made.id}` }, t('wh.open', { url: made.url })))));
    secretBox.querySelector('h2').focus();
    list.replaceWith(list = table(await fetchAll('/v1/admin/webhooks')));
  },
  field('url', t('wh.url'), h('input', { type: 'url', required: true, placeholder: 'https://' }), t('wh.urlHint')),
  field('description', t('a.description'), h('input', {})),
  eventsBox(),
  h('button', { type: 'submit', class: 'primary' }, t('wh.add')));
  const table = (rows) => dataTable(rows, {
    id: 'webhooks',
    caption: t('wh.title'),
    columns: [{ label: t('wh.url') }, { label: t('wh.events') }, { label: t('a.status') }, { label: t('a.description') }],
    text: (w) => `${w.url} ${w.description || ''} ${w.events.join(' ')}`,
    empty: empty(t('wh.none'), h('button', { type: 'button', class: 'secondary',
      onclick: () => document.getElementById('f-url').focus() }, t('wh.addBelow'))),
    row: (w) => h('tr', {},
      h('td', {}, h('a', { href: `#/webhooks/${w.id}` }, w.url)),
      h('td', {}, w.events.join(', ')),
      h('td', {}, w.enabled ? (w.failing_since ? h('span', { class: 'bad' }, t('wh.failingSince', { date: dateTime(w.failing_since) }))
        : h('span', { class: 'badge s-open' }, t('wh.enabled'))) : h('span', { class: 'badge' }, t('wh.disabled'))),
      h('td', {}, w.description || '')),
  });
  let list = table(items);
  show(ctx, h('h1', {}, t('wh.title')), secretBox, list, h('h2', {}, t('wh.add')), create);
}

async function webhookPage({ id, ctx }) {
  const w = await api.get(`/v1/admin/webhooks/${id}`);
  const enabled = h('input', { type: 'checkbox', id: 'f-enabled', checked: w.enabled });
  const edit = form({ class: 'editor' }, async (f) => {
    await api.patch(`/v1/admin/webhooks/${id}`, {
      url: f.get('url'), events: eventsOf(f), description: f.get('description') || '', enabled: enabled.checked,
    });
    toast(t('a.saved'));
    ctx.run();
  },
  field('url', t('wh.url'), h('input', { type: 'url', required: true, value: w.url })),
  field('description', t('a.description'), h('input', { value: w.description || '' })),
  eventsBox(w.events),
  h('div', { class: 'field', 'data-field': 'enabled' }, h('label', { for: 'f-enabled', class: 'check' }, enabled, t('wh.enabledLabel'))),
  h('button', { type: 'submit', class: 'primary' }, t('a.save')));
  const status = h('select', { id: 'dl-status', onchange: () => drawLog() },
    h('option', { value: '' }, t('a.all')),
    ['pending', 'delivered', 'failed'].map((s) => h('option', { value: s }, word('dstatus', s))));
  const log = h('div', {});
  async function drawLog() {
    const items = (await fetchAll(`/v1/admin/webhooks/${id}/deliveries${status.value ? `?status=${status.value}` : ''}`, 1000)).reverse();
    fill(log, dataTable(items, {
      id: 'deliveries',
      caption: t('wh.log'),
      columns: [{ label: t('wh.event') }, { label: t('a.status') }, { label: t('wh.attempts'), num: true },
        { label: t('wh.last') }, { label: t('wh.when') }, { label: t('ful.action') }],
      text: (d) => `${d.event_type} ${d.event_id} ${d.last_error || ''} ${d.last_status_code || ''}`,
      empty: empty(status.value ? t('wh.noDeliveriesStatus') : t('wh.noDeliveries')),
      row: (d) => h('tr', { 'data-delivery': d.id },
        h('td', {}, d.event_type, h('br'), h('span', { class: 'muted' }, `#${d.event_id}`)),
        h('td', {}, h('span', { class: `badge s-d-${d.status}` }, word('dstatus', d.status))),
        h('td', { class: 'num' }, d.attempts),
        h('td', {}, d.last_status_code ? `HTTP ${d.last_status_code}` : '', d.last_error ? [' ', h('span', { class: 'muted' }, d.last_error)] : null),
        h('td', {}, d.status === 'delivered' ? dateTime(d.delivered_at) : d.next_attempt_at ? t('wh.next', { date: dateTime(d.next_attempt_at) }) : ''),
        h('td', {}, d.status === 'failed' ? h('button', { type: 'button', class: 'secondary retry', onclick: async () => {
          try {
            await api.post(`/v1/admin/webhooks/${id}/deliveries/${d.id}/retry`, {});
            toast(t('wh.retried'));
            drawLog();
          } catch (err) { toast(errorText(err)); }
        } }, t('wh.retry')) : '')),
    }));
  }
  const del = h('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!confirm(t('wh.deleteConfirm'))) return;
    try { await api.del(`/v1/admin/webhooks/${id}`); toast(t('wh.deleted')); ctx.go('/webhooks'); } catch (err) { toast(errorText(err)); }
  } }, t('wh.delete'));
  show(ctx, h('h1', {}, w.url),
    w.failing_since ? h('p', { class: 'bad' }, t('wh.failingSince', { date: dateTime(w.failing_since) })) : null,
    h('h2', {}, t('wh.log')),
    h('div', { class: 'toolbar' }, h('label', { for: 'dl-status' }, t('a.filterStatus')), status),
    log,
    h('h2', {}, t('wh.settings')), edit, h('div', { class: 'toolbar' }, del),
    h('p', {}, h('a', { href: '#/webhooks' }, t('wh.back'))));
  await drawLog();
}

export default {
  routes: {
    '/webhooks': { page: webhooksPage, allowed: can.own },
    '/webhooks/:id': { page: webhookPage, allowed: can.own },
  },
  nav: { href: '#/webhooks', label: 'wh.title', order: 80, allowed: can.own,
    match: (p) => p.startsWith('/webhooks') },
};
