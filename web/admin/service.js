// admin/service.js - the service queues (step 4: respond to customers):
// questions on campaigns, oldest open first with their age, answered in
// public or privately (answering again replaces the answer, and the audit
// log keeps the one before); complaints, oldest open first with their
// age, replied to (the customer sees each reply) and resolved with a
// note. Owner and operator. Every body is shown as text.
import { t } from '../lib/i18n.js';
import { h, mount, dateTime } from '../lib/ui.js';
import { api, main, can, toast, field, form, fetchAll, dataTable, empty, hashQuery } from './shell.js';
import { show } from './shell.js';

// "3 天 2 小时" / "2 小时 5 分" / "5 分"
export function age(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  if (d) return t('sv.ageDays', { d, h: hh });
  if (hh) return t('sv.ageHours', { h: hh, m: mm });
  return t('sv.ageMinutes', { m: mm });
}

// Questions | complaints: the two queues, one tap apart.
function queues(here) {
  return h('nav', { class: 'tabs queues', 'aria-label': t('sv.title') },
    ['questions', 'complaints'].map((k) => h('a', { href: `#/${k}`, 'aria-current': k === here ? 'page' : null },
      t(`sv.${k}`))));
}

function tabs(base, statuses, status, prefix) {
  return h('nav', { class: 'tabs', 'aria-label': t('a.filterStatus') },
    statuses.map((s) => h('a', { href: `#${base}?status=${s}`, 'aria-current': s === status ? 'page' : null },
      t(`${prefix}.${s}`))));
}

// ---- questions ------------------------------------------------------------

function answerForm(q, done) {
  return form({ class: 'row-form answer' }, async (f) => {
    await api.post(`/v1/admin/questions/${q.id}/answer`, { body: f.get('body'), public: f.get('public') === 'on' });
    toast(t('sv.answered', { id: q.id }));
    done();
  },
  field('body', q.status === 'answered' ? t('sv.replaceAnswer') : t('sv.answer'),
    h('textarea', { id: `sv-answer-${q.id}`, rows: '2', maxlength: '2000', required: true })),
  h('label', { class: 'check', for: `sv-public-${q.id}` },
    h('input', { type: 'checkbox', id: `sv-public-${q.id}`, name: 'public', checked: q.status === 'answered' ? q.public : true }),
    t('sv.public')),
  h('button', { type: 'submit', class: 'primary' }, q.status === 'answered' ? t('sv.replace') : t('sv.send')));
}

async function questionsPage({ ctx }) {
  const status = hashQuery().get('status') || 'open';
  const items = await fetchAll(`/v1/admin/questions?status=${status === 'answered' ? 'answered' : 'open'}`);
  const again = () => ctx.run();
  show(ctx, h('h1', {}, t('sv.questions')), queues('questions'), tabs('/questions', ['open', 'answered'], status, 'sv.q'),
    dataTable(items, {
      id: 'questions',
      caption: t('sv.questions'),
      columns: [{ label: t('sv.age') }, { label: t('a.customer') }, { label: t('f.campaign') },
        { label: t('sv.question') }, { label: t('sv.answerCol') }],
      text: (q) => `${q.body} ${q.customer?.display_name || ''} ${q.campaign_title || ''}`,
      empty: empty(status === 'open' ? t('sv.noOpenQuestions') : t('sv.noQuestions')),
      row: (q) => h('tr', { 'data-question': q.id },
        h('td', {}, h('strong', {}, age(q.age_seconds)), h('br'), h('span', { class: 'muted' }, dateTime(q.asked_at))),
        h('td', {}, q.customer ? h('a', { href: `#/customers/${q.customer.id}` }, q.customer.display_name) : '—'),
        h('td', {}, h('a', { href: `#/campaigns/${q.campaign_id}` }, q.campaign_title || `#${q.campaign_id}`)),
        h('td', { class: 'body' }, q.body),
        h('td', {},
          q.status === 'answered' ? h('p', { class: 'current-answer' }, q.answer, ' ',
            h('span', { class: 'muted' }, t(q.public ? 'sv.isPublic' : 'sv.isPrivate'))) : null,
          can.operate() ? answerForm(q, again) : '')),
    }));
}

// ---- complaints -------------------------------------------------------------

function complaintForms(k, done) {
  const reply = form({ class: 'row-form reply' }, async (f) => {
    await api.post(`/v1/admin/complaints/${k.id}/reply`, { body: f.get('body') });
    toast(t('sv.replied', { id: k.id }));
    done();
  },
  field('body', t('sv.reply'), h('textarea', { id: `sv-reply-${k.id}`, rows: '2', maxlength: '2000', required: true })),
  h('button', { type: 'submit', class: 'secondary' }, t('sv.sendReply')));
  const resolve = form({ class: 'row-form resolve' }, async (f) => {
    await api.post(`/v1/admin/complaints/${k.id}/resolve`, f.get('note') ? { note: f.get('note') } : {});
    toast(t('sv.resolved', { id: k.id }));
    done();
  },
  field('note', t('sv.note'), h('input', { id: `sv-note-${k.id}`, maxlength: '1000' })),
  h('button', { type: 'submit', class: 'primary' }, t('sv.resolve')));
  return [reply, resolve];
}

async function complaintsPage({ ctx }) {
  const status = hashQuery().get('status') || 'open';
  const items = await fetchAll(`/v1/admin/complaints?status=${status === 'resolved' ? 'resolved' : 'open'}`);
  const again = () => ctx.run();
  show(ctx, h('h1', {}, t('sv.complaints')), queues('complaints'), tabs('/complaints', ['open', 'resolved'], status, 'sv.k'),
    dataTable(items, {
      id: 'complaints',
      caption: t('sv.complaints'),
      columns: [{ label: t('sv.age') }, { label: t('a.customer') }, { label: t('sv.about') },
        { label: t('sv.complaint') }, { label: t('ful.action') }],
      text: (k) => `${k.body} ${k.customer?.display_name || ''} ${k.campaign_title || ''}`,
      empty: empty(status === 'open' ? t('sv.noOpenComplaints') : t('sv.noComplaints')),
      row: (k) => h('tr', { 'data-complaint': k.id },
        h('td', {}, h('strong', {}, age(k.age_seconds)), h('br'), h('span', { class: 'muted' }, dateTime(k.created_at))),
        h('td', {}, k.customer ? h('a', { href: `#/customers/${k.customer.id}` }, k.customer.display_name) : '—'),
        h('td', {}, k.campaign_id ? h('a', { href: `#/campaigns/${k.campaign_id}` }, k.campaign_title || `#${k.campaign_id}`) : '—',
          k.order_id ? [h('br'), h('span', { class: 'muted' }, t('aas.order', { id: k.order_id }))] : null),
        h('td', { class: 'body' }, h('p', {}, k.body),
          k.replies.length ? h('ul', { class: 'replies' }, k.replies.map((r) => h('li', {}, r.body, ' ',
            h('span', { class: 'muted' }, dateTime(r.created_at))))) : null,
          k.status === 'resolved' ? h('p', { class: 'muted' }, t('sv.resolvedAt', { at: dateTime(k.resolved_at) }),
            k.resolution_note ? ` · ${k.resolution_note}` : '') : null),
        h('td', {}, k.status === 'open' && can.operate() ? complaintForms(k, again) : '')),
    }));
}

export default {
  routes: {
    '/questions': { page: questionsPage, allowed: can.operate },
    '/complaints': { page: complaintsPage, allowed: can.operate },
  },
  nav: { href: '#/questions', label: 'sv.title', order: 55, allowed: can.operate,
    match: (here) => here === '/questions' || here === '/complaints' },
};
