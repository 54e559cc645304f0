// shop/campaign.js - one campaign: what it is, what it costs now and how
// close the next price is, moving live on its event stream; and joining.
//
// Before committing the shopper sees what it will cost (the sticky bar at
// the bottom of a phone's screen: 单独购买 list price | 拼团价 price now,
// the total, the deposit with its reason, the balance), chooses a pickup
// point or gives the address (or chooses to add it later). The state the
// shopper meets the campaign in is shown, never discovered through a
// refused join: not started yet, ended, sold out, a score below the
// campaign's minimum, or already joined (with that participation and the
// action that is due). A half-filled form survives a trip to the login
// page (sessionStorage).
import { t } from '../lib/i18n.js';
import {
  h, fill, mount, ladder, progressBar, money, dateTime, watchCampaign, focusOn, showError,
} from '../lib/ui.js';
import {
  api, main, session, go, loginPath, explain, pageError, toast, allPages,
  depositPercent, depositCents, forgetCampaigns,
} from './shell.js';
import {
  TERMINAL, priceBlock, priceNow, statusBadge, liveFacts, clockText, startsLine,
} from './cards.js';
import { startPayment } from './pay.js';
import { withShareCode, dropShareCode } from './sharecode.js';

const LIVE = ['pending_deposit', 'active'];

function draftKey(id) { return `gb.shop.draft.${id}`; }
function loadDraft(id) {
  try { return JSON.parse(sessionStorage.getItem(draftKey(id)) || 'null') || {}; } catch { return {}; }
}
function saveDraft(id, d) { sessionStorage.setItem(draftKey(id), JSON.stringify(d)); }
function dropDraft(id) { sessionStorage.removeItem(draftKey(id)); }

// The shopper's newest participation in campaign id, or null.
async function myParticipation(id) {
  if (!session.me) return null;
  const all = await allPages('/v1/me/participations');
  const mine = all.filter((p) => p.campaign_id === id);
  return mine.length ? mine.reduce((a, b) => (b.id > a.id ? b : a)) : null;
}

// Why the deposit is what it is: "信用分 62：需付 10% 定金（¥19.80）".
export function depositReason(c, p) {
  if (!p.deposit_cents) return t('j.noDeposit');
  const base = p.quantity * (c.tiers[0]?.unit_price_cents || 1);
  const pct = Math.round((p.deposit_cents * 100) / base);
  return t('j.deposit', { score: session.me?.reliability?.score ?? '—', pct, amount: money(p.deposit_cents) });
}

export async function campaignPage({ id }, ctx = { alive: () => true }) {
  const cid = Number(id);
  let c;
  let mine = null;
  let g;
  let sv;
  try {
    c = await api.get(`/v1/campaigns/${cid}`);
    [g, sv] = await Promise.all([import('./growth.js'), import('./service.js')]);
  } catch (err) {
    if (!ctx.alive()) return undefined;
    if (err.status === 404) {
      mount(main, h('h1', {}, t('c.gone')), h('p', {}, h('a', { class: 'button', href: '#/' }, t('nav.campaigns'))));
    } else {
      pageError(t('c.title'), err, () => campaignPage({ id }, ctx));
    }
    return undefined;
  }
  try {
    mine = await myParticipation(cid);
  } catch (err) {
    if (err.status === 401) {
      go(loginPath('expired'));
      return undefined;
    }
    mine = null; /* the page still shows the campaign */
  }
  if (!ctx.alive()) return undefined;

  const live = h('section', { class: 'live', 'aria-live': 'polite', 'aria-label': t('c.liveLabel') });
  const clock = h('p', { class: 'countdown' });
  const stale = h('p', { class: 'stale-note', role: 'status', hidden: true }, t('live.stale'));
  const joinBox = h('section', { class: 'join', 'aria-label': t('c.joinLabel') });
  let kind = null;
  let form = null;
  const card = g.shareCard(c);

  function drawLive() {
    fill(live,
      priceBlock(c),
      c.status === 'scheduled' ? startsLine(c) : null,
      h('p', { class: 'participants' }, t('c.joined', { n: c.progress.participants }),
        ' · ', t('c.units', { n: c.progress.quantity })),
      progressBar(c),
      ...liveFacts(c),
      ladder(c),
      statusBadge(c.status));
    card.update();
  }
  function tick() { clock.textContent = clockText(c); }

  function stateOf() {
    if (c.status === 'scheduled') return 'soon';
    if (TERMINAL.includes(c.status)) return 'closed';
    if (mine && LIVE.includes(mine.status)) return 'joined';
    if (c.progress.remaining_quantity <= 0) return 'soldout';
    const score = session.me?.reliability?.score;
    if (score !== undefined && score < (c.min_score || 0)) return 'lowscore';
    return 'form';
  }

  function drawJoin(focus) {
    kind = stateOf();
    form = null;
    document.body.classList.remove('has-costbar');
    let box;
    if (kind === 'form') {
      form = joinForm(c, {
        joined: (p) => {
          mine = p;
          dropDraft(cid);
          toast(t('j.done'));
          refresh();
          drawJoin(true);
        },
        refused: async (err) => {
          // the state changed under the shopper: show it rather than the refusal
          if (['already_joined', 'campaign_full', 'campaign_not_open', 'reliability_too_low'].includes(err.code)) {
            await refresh();
            mine = await myParticipation(cid).catch(() => mine);
            if (stateOf() !== 'form') drawJoin(true);
          }
        },
      });
      fill(joinBox, form.el);
      document.body.classList.add('has-costbar');
      return;
    }
    if (kind === 'joined') box = joinedBox(c, mine, { withdrawn: (p) => { mine = p; drawJoin(true); toast(t('me.withdrawn')); refresh(); } });
    else if (kind === 'soon') box = stateBox('soon', t('c.state.soon'), t('c.state.soonText', { time: dateTime(c.starts_at) }));
    else if (kind === 'closed') box = closedBox(c, mine);
    else if (kind === 'soldout') {
      box = stateBox('soldout', t('c.state.soldout'), t('c.state.soldoutText'), g.waitlistBox(c, {
        promoted: async () => {
          mine = await myParticipation(cid).catch(() => mine);
          await refresh();
          drawJoin(true);
        },
      }));
    }
    else box = stateBox('lowscore', t('c.state.lowscore'),
      t('c.state.lowscoreText', { score: session.me.reliability.score, min: c.min_score }));
    fill(joinBox, box);
    if (focus) focusOn(box.querySelector('h2'));
  }

  // the own join shows at once, even before the stream's event arrives
  async function refresh() {
    try {
      const f = await api.get(`/v1/campaigns/${cid}`);
      c.progress = f.progress;
      c.status = f.status;
      drawLive();
      if (form) form.update();
    } catch { /* the stream brings it */ }
  }

  mount(main,
    h('article', { class: 'campaign' },
      h('div', { class: 'pic big', 'aria-hidden': 'true' }, (c.product?.name || c.title).slice(0, 1)),
      h('h1', {}, c.title),
      c.product?.name ? h('p', { class: 'muted' }, c.product.name) : null,
      c.description ? h('p', {}, c.description) : null,
      clock, stale, live, joinBox, card, sv.questionsSection(c)));
  drawLive();
  tick();
  drawJoin(false);

  const timer = setInterval(tick, 1000);
  const close = watchCampaign(cid, async (ev) => {
    const was = c.status;
    c.progress = ev.progress;
    c.status = ev.status;
    drawLive();
    tick();
    // a unit freed while the shopper waits may have ended the wait
    if ((was !== c.status && mine) || g.waitsFor(cid)) {
      mine = await myParticipation(cid).catch(() => mine);
      if (mine && LIVE.includes(mine.status)) g.stopWaiting(cid);
    }
    if (form) form.update();
    if (stateOf() !== kind) drawJoin(false);
  }, (up) => {
    stale.hidden = up;
    live.classList.toggle('stale', !up);
    clock.classList.toggle('stale', !up);
  });
  return () => {
    clearInterval(timer);
    close();
    document.body.classList.remove('has-costbar');
    forgetCampaigns();
  };
}

function stateBox(kind, title, text, ...more) {
  return h('div', { class: `state state-${kind}`, role: 'status' },
    h('h2', {}, title), h('p', {}, text), ...more);
}

function closedBox(c, mine) {
  return stateBox('closed', t('c.state.closed'), t(`c.outcome.${c.status}`),
    mine ? h('p', {}, t('c.state.yours', { status: t(`pstatus.${mine.status}`) }), ' ',
      h('a', { class: 'tap', href: '#/orders' }, t('me.open'))) : null);
}

// The shopper's live participation and the action that is due.
function joinedBox(c, p, { withdrawn }) {
  const result = h('p', { class: 'result', role: 'status' });
  const owed = priceNow(c) * p.quantity;
  const lines = [
    h('p', { class: 'reason' }, depositReason(c, p)),
    h('p', { class: 'my-line' }, t('j.mine', { n: p.quantity, status: t(`pstatus.${p.status}`) })),
  ];
  const actions = [];
  if (p.status === 'pending_deposit') {
    lines.push(h('p', {}, t('j.payBy', { time: dateTime(p.deposit_due_by) })));
    actions.push(h('button', { type: 'button', class: 'primary pay', onclick: () => startPayment(p, result) },
      t('j.payDeposit', { amount: money(p.amount_due_cents) })));
  } else {
    lines.push(h('p', { class: 'balance' }, t('j.balanceLater', {
      paid: money(p.deposit_paid_cents), balance: money(Math.max(0, owed - p.deposit_paid_cents)),
    })));
  }
  actions.push(withdrawButton(p, result, withdrawn));
  return h('div', { class: 'joined', role: 'status' },
    h('h2', { class: 'ok' }, t('j.done')),
    ...lines,
    h('div', { class: 'actions' }, actions, h('a', { class: 'button secondary', href: '#/orders' }, t('me.open'))),
    result);
}

// "退出拼团", asked twice in place (no dialog): the deposit goes back.
export function withdrawButton(p, result, done) {
  const wrap = h('span', { class: 'withdraw-wrap' });
  const ask = h('button', { type: 'button', class: 'secondary withdraw', onclick: () => {
    const yes = h('button', { type: 'button', class: 'danger confirm-withdraw', onclick: async () => {
      yes.disabled = true;
      try {
        const r = await api.post(`/v1/participations/${p.id}/withdraw`, {});
        done(r);
      } catch (err) {
        const why = explain(err, 'withdraw');
        if (why !== null) {
          result.textContent = why;
          focusOn(result);
        }
        fill(wrap, ask);
      }
    } }, t('me.withdrawYes'));
    const no = h('button', { type: 'button', class: 'secondary', onclick: () => { fill(wrap, ask); ask.focus(); } }, t('me.withdrawNo'));
    fill(wrap, h('span', { class: 'confirm', role: 'group', 'aria-label': t('me.withdrawConfirm') },
      h('span', { class: 'confirm-q' }, t('me.withdrawConfirm')), yes, no));
    yes.focus();
  } }, t('me.withdraw'));
  fill(wrap, ask);
  return wrap;
}

// ---- the join form -------------------------------------------------------

const ADDRESS = [
  ['name', 'name', 64], ['phone', 'tel', 32], ['region', 'address-level1', 200], ['line', 'street-address', 400],
];

function joinForm(c, { joined, refused }) {
  const draft = loadDraft(c.id);
  const logged = !!session.me;
  const maxOf = () => Math.max(1, Math.min(c.per_customer_limit, c.progress.remaining_quantity));
  const qty = h('input', { id: 'qty', name: 'quantity', type: 'number', min: '1', max: String(maxOf()),
    value: String(Math.min(maxOf(), Math.max(1, Number(draft.quantity) || 1))), inputmode: 'numeric' });
  const limit = h('span', { class: 'muted limit' });
  const step = (d) => () => {
    qty.value = String(Math.min(maxOf(), Math.max(1, (parseInt(qty.value, 10) || 1) + d)));
    changed();
  };

  // pickup point, or address (or later)
  let where = null;
  const later = h('input', { type: 'checkbox', id: 'addr-later', name: 'later', checked: !!draft.later });
  const addr = {};
  if (c.fulfilment === 'pickup') {
    const points = c.pickup_points || [];
    const chosen = String(draft.point || (points.length === 1 ? points[0].id : ''));
    where = h('fieldset', { class: 'points', 'data-field': 'pickup_point_id' },
      h('legend', {}, t('j.point')),
      points.map((pt) => h('label', { class: 'point' },
        h('input', { type: 'radio', name: 'pickup_point_id', value: String(pt.id), checked: String(pt.id) === chosen }),
        h('span', { class: 'point-text' },
          h('strong', {}, pt.name),
          h('span', {}, pt.address),
          pt.leader_name ? h('span', { class: 'muted' }, t('j.leader', { name: pt.leader_name })) : null,
          pt.hours ? h('span', { class: 'muted' }, t('j.hours', { hours: pt.hours })) : null))));
  } else {
    const fields = ADDRESS.map(([key, auto, max]) => {
      addr[key] = h('input', { id: `addr-${key}`, name: `addr_${key}`, autocomplete: auto, maxlength: String(max),
        type: key === 'phone' ? 'tel' : 'text', value: draft.address?.[key] || '' });
      return h('div', { class: 'field' }, h('label', { for: `addr-${key}` }, t(`addr.${key}`)), addr[key]);
    });
    where = h('fieldset', { class: 'address', 'data-field': 'address' },
      h('legend', {}, t('j.address')),
      fields,
      h('label', { class: 'check', for: 'addr-later' }, later, t('j.addressLater')));
  }

  // the cost before committing
  const cost = {
    single: h('span', { class: 'single' }),
    group: h('span', { class: 'group' }),
    total: h('p', { class: 'total' }),
    deposit: h('p', { class: 'deposit' }),
    balance: h('p', { class: 'balance muted' }),
  };
  const submit = h('button', { type: 'submit', class: 'primary' }, logged ? t('c.join') : t('c.loginToJoin'));
  const errors = h('div', { class: 'form-errors' });
  const el = h('form', { class: 'join-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); send(); } },
    h('div', { class: 'stepper', 'data-field': 'quantity' },
      h('label', { for: 'qty' }, t('c.quantity')),
      h('button', { type: 'button', class: 'step', 'aria-label': t('c.less'), onclick: step(-1) }, '−'),
      qty,
      h('button', { type: 'button', class: 'step', 'aria-label': t('c.more'), onclick: step(1) }, '+'),
      limit),
    where,
    errors,
    h('div', { class: 'costbar', role: 'region', 'aria-label': t('j.costLabel') },
      h('p', { class: 'compare' }, cost.single, h('span', { class: 'sep', 'aria-hidden': 'true' }, '|'), cost.group),
      cost.total, cost.deposit, cost.balance, submit));

  function quantity() { return Math.min(maxOf(), Math.max(1, parseInt(qty.value, 10) || 1)); }

  function update() {
    qty.max = String(maxOf());
    const q = quantity();
    const now = priceNow(c);
    const list = c.product?.list_price_cents ?? now;
    limit.textContent = t('c.limit', { n: maxOf() });
    fill(cost.single, t('j.single'), ' ', h('s', {}, money(list)));
    fill(cost.group, t('j.group'), ' ', h('strong', {}, money(now)));
    cost.total.textContent = t('j.total', { q, price: money(now), total: money(now * q) });
    const score = session.me?.reliability?.score;
    if (score === undefined) {
      cost.deposit.textContent = t('j.depositAfterLogin');
      cost.balance.textContent = '';
      return;
    }
    const pct = depositPercent(c, score);
    const dep = depositCents(c, q, pct);
    cost.deposit.textContent = pct
      ? t('j.depositNow', { score, pct, amount: money(dep) })
      : t('j.noDepositScore', { score });
    cost.balance.textContent = t('j.balanceAfter', { amount: money(Math.max(0, now * q - dep)) });
  }

  function changed() {
    update();
    const d = { quantity: quantity(), later: later.checked, address: {} };
    const pt = el.querySelector('input[name=pickup_point_id]:checked');
    if (pt) d.point = pt.value;
    for (const k of Object.keys(addr)) d.address[k] = addr[k].value;
    for (const k of Object.keys(addr)) addr[k].disabled = later.checked;
    saveDraft(c.id, d);
  }
  el.addEventListener('input', changed);
  el.addEventListener('change', changed);

  function fail(err, text) {
    el.querySelectorAll('.field-error').forEach((x) => x.remove());
    el.querySelectorAll('[aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
    const at = err.field && el.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
    const box = showError(at ? el : errors, err, text);
    const input = at && at.querySelector('[aria-invalid]');
    focusOn(input || box);
  }

  async function send() {
    if (!session.me) {
      changed();
      go(loginPath());
      return;
    }
    const body = { quantity: quantity() };
    if (c.fulfilment === 'pickup') {
      const pt = el.querySelector('input[name=pickup_point_id]:checked');
      if (!pt) {
        fail({ code: 'invalid_field', field: 'pickup_point_id' }, t('err.join.choosePoint'));
        return;
      }
      body.pickup_point_id = Number(pt.value);
    } else if (!later.checked) {
      const empty = ADDRESS.find(([k]) => !addr[k].value.trim());
      if (empty) {
        fail({ code: 'invalid_field', field: 'address' }, t('err.join.addressMissing'));
        addr[empty[0]].setAttribute('aria-invalid', 'true');
        addr[empty[0]].focus();
        return;
      }
      body.address = {};
      for (const [k] of ADDRESS) body.address[k] = addr[k].value.trim();
    }
    submit.disabled = true;
    try {
      const p = await api.post(`/v1/campaigns/${c.id}/participations`, withShareCode(c.id, body));
      forgetCampaigns();
      joined(p);
    } catch (err) {
      if (err.code === 'invalid_field' && err.field === 'share_code') dropShareCode(c.id);
      const why = explain(err, 'join');
      if (why !== null) {
        fail(err, why);
        refused(err);
      }
    } finally {
      submit.disabled = false;
    }
  }

  changed();
  return { el, update };
}
