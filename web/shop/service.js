// shop/service.js - asking and complaining: the questions on a campaign's
// page (the answered public ones, and asking one), 我的提问 (answered or
// not) and 我的投诉 (opening one about a campaign of mine, and the staff's
// replies). Every body is shown as text (lib/ui.js h() never parses HTML).
import { t } from '../lib/i18n.js';
import { h, fill, mount, dateTime, focusOn, showError } from '../lib/ui.js';
import {
  api, main, session, go, loginPath, explain, pageError, toast, allPages, campaignOf,
} from './shell.js';
import { meNav } from './growth.js';

// ---- questions on a campaign ------------------------------------------

export function questionsSection(c) {
  const list = h('div', { class: 'qa-list' }, h('p', { class: 'muted' }, t('loading')));
  const ask = h('div', { class: 'qa-ask' });
  const section = h('section', { class: 'questions', 'aria-labelledby': 'qa-title' },
    h('h2', { id: 'qa-title' }, t('qa.title')), list, ask);

  async function load() {
    try {
      const page = await api.get(`/v1/campaigns/${c.id}/questions?limit=50`);
      fill(list, page.items.length === 0
        ? h('p', { class: 'muted' }, t('qa.none'))
        : h('ul', { class: 'qa' }, page.items.map((q) => h('li', { class: 'qa-item' },
          h('p', { class: 'q' }, h('span', { class: 'qa-tag' }, t('qa.q')), ' ', q.body),
          h('p', { class: 'a' }, h('span', { class: 'qa-tag' }, t('qa.a')), ' ', q.answer),
          h('p', { class: 'muted' }, q.asked_by, ' · ', dateTime(q.answered_at))))));
    } catch {
      fill(list, h('p', { class: 'muted' }, t('err.load')));
    }
  }

  function drawAsk() {
    if (!session.me) {
      fill(ask, h('a', { class: 'tap', href: `#${loginPath()}` }, t('qa.loginToAsk')));
      return;
    }
    const body = h('textarea', { id: 'qa-body', name: 'body', maxlength: '1000', rows: '3', required: true });
    const form = h('form', { class: 'qa-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const text = body.value;
      if (!text.trim()) {
        focusOn(showError(form, { code: 'invalid_field', field: 'body' }, t('qa.empty')));
        return;
      }
      const send = form.querySelector('button[type=submit]');
      send.disabled = true;
      try {
        await api.post(`/v1/campaigns/${c.id}/questions`, { body: text });
        body.value = '';
        const said = h('p', { class: 'result ok', role: 'status' }, t('qa.sent'), ' ',
          h('a', { class: 'tap', href: '#/me/questions' }, t('mine.questions')));
        form.querySelectorAll('.field-error, .result').forEach((x) => x.remove());
        form.append(said);
        focusOn(said);
      } catch (err) {
        const why = explain(err, 'question');
        if (why !== null) focusOn(showError(form, err, why));
      } finally {
        send.disabled = false;
      }
    } },
    h('div', { class: 'field', 'data-field': 'body' }, h('label', { for: 'qa-body' }, t('qa.ask')), body),
    h('button', { type: 'submit', class: 'secondary ask' }, t('qa.send')));
    fill(ask, form);
  }

  load();
  drawAsk();
  return section;
}

// ---- 我的提问 ----------------------------------------------------------

export async function myQuestionsPage(params, ctx = { alive: () => true }) {
  if (!session.me) { go(loginPath()); return; }
  const title = t('mine.questions');
  let items;
  try {
    items = await allPages('/v1/me/questions');
  } catch (err) {
    if (ctx.alive()) pageError(title, err, () => myQuestionsPage(params, ctx));
    return;
  }
  if (!ctx.alive()) return;
  mount(main, h('h1', {}, title), meNav('questions'),
    items.length === 0
      ? h('p', { class: 'empty', role: 'status' }, t('qa.mineNone'))
      : h('ul', { class: 'mine' }, items.slice().reverse().map((q) => h('li', { class: 'mine-item my-question', 'data-question': q.id },
        h('h2', {}, h('a', { href: `#/c/${q.campaign_id}` }, q.campaign_title)),
        h('p', { class: 'q' }, h('span', { class: 'qa-tag' }, t('qa.q')), ' ', q.body),
        q.status === 'answered'
          ? h('p', { class: 'a' }, h('span', { class: 'qa-tag' }, t('qa.a')), ' ', q.answer)
          : h('p', { class: 'muted' }, t('qa.waiting')),
        h('p', { class: 'muted' }, dateTime(q.asked_at),
          q.status === 'answered' ? [' · ', t(q.public ? 'qa.public' : 'qa.private')] : null)))));
}

// ---- 我的投诉 ----------------------------------------------------------

export async function myComplaintsPage(params, ctx = { alive: () => true }) {
  if (!session.me) { go(loginPath()); return; }
  const title = t('mine.complaints');
  let items;
  // the campaigns the shopper took part in: what a complaint may be about
  const campaigns = new Map();
  try {
    let parts;
    [items, parts] = await Promise.all([allPages('/v1/me/complaints'), allPages('/v1/me/participations')]);
    const ids = [...new Set(parts.map((p) => p.campaign_id))];
    for (const [id, c] of await Promise.all(ids.map(async (id) => [id, await campaignOf(id)]))) {
      campaigns.set(id, c ? c.title : `#${id}`);
    }
  } catch (err) {
    if (ctx.alive()) pageError(title, err, () => myComplaintsPage(params, ctx));
    return;
  }
  if (!ctx.alive()) return;
  const about = h('select', { id: 'cp-campaign', name: 'campaign_id' },
    [...campaigns].map(([id, name]) => h('option', { value: String(id) }, name)));
  const body = h('textarea', { id: 'cp-body', name: 'body', maxlength: '2000', rows: '4', required: true });
  const form = h('form', { class: 'complaint-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (!body.value.trim()) {
      focusOn(showError(form, { code: 'invalid_field', field: 'body' }, t('cp.empty')));
      return;
    }
    const req = { body: body.value, campaign_id: Number(about.value) };
    const send = form.querySelector('button[type=submit]');
    send.disabled = true;
    try {
      await api.post('/v1/me/complaints', req);
      toast(t('cp.sent'));
      myComplaintsPage(params, ctx);
    } catch (err) {
      const why = explain(err, 'complaint');
      if (why !== null) focusOn(showError(form, err, why));
    } finally {
      send.disabled = false;
    }
  } },
  h('div', { class: 'field', 'data-field': 'campaign_id' }, h('label', { for: 'cp-campaign' }, t('cp.about')), about),
  h('div', { class: 'field', 'data-field': 'body' }, h('label', { for: 'cp-body' }, t('cp.body')), body),
  h('button', { type: 'submit', class: 'primary open-complaint' }, t('cp.open')));
  mount(main, h('h1', {}, title), meNav('complaints'),
    h('section', { 'aria-labelledby': 'cp-new' }, h('h2', { id: 'cp-new' }, t('cp.new')),
      campaigns.size ? form : h('p', { class: 'muted' }, t('cp.nothing'))),
    h('section', { 'aria-labelledby': 'cp-list' }, h('h2', { id: 'cp-list' }, t('cp.list')),
      items.length === 0
        ? h('p', { class: 'empty', role: 'status' }, t('cp.none'))
        : h('ul', { class: 'mine' }, items.slice().reverse().map((k) => h('li', { class: 'mine-item my-complaint', 'data-complaint': k.id },
          h('p', {}, h('strong', {}, t(`cp.status.${k.status}`)), ' · ', dateTime(k.created_at),
            k.campaign_title ? [' · ', k.campaign_title] : null),
          h('p', { class: 'cp-body' }, k.body),
          k.replies.length ? h('ul', { class: 'replies', 'aria-label': t('cp.replies') }, k.replies.map((r) => h('li', { class: 'reply' },
            h('span', { class: 'qa-tag' }, t('cp.staff')), ' ', r.body, ' ', h('span', { class: 'muted' }, dateTime(r.created_at))))) : null,
          k.status === 'resolved' && k.resolution_note ? h('p', { class: 'muted' }, t('cp.note'), ' ', k.resolution_note) : null)))));
}
