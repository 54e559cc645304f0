// admin/forecast.js - the forecast's pieces the screens share (the model
// in docs/domain.md, "Forecast, ladder planning and the model's refit"):
// an open campaign's forecast in words with its arrivals and their basis,
// the ladder shaded by the chance of succeeding at each tier, the
// editor's live ladder planner (margin per tier), and a calibration chart
// (predicted against observed) drawn as inline SVG. Not a screen: the
// dashboard, the editor and the model page use it.
import { t } from '../lib/i18n.js';
import { h, fill, money } from '../lib/ui.js';
import { api, errorText } from './shell.js';

export const percent = (p) => Math.round((p ?? 0) * 100);
const one = (x) => (x ?? 0).toFixed(1);
const cents = (x) => (x === null || x === undefined ? null : Math.round(x));

// The staff view's forecast of an open campaign (null when it has none):
// "预计 12.4 人参团，87% 概率成团", then who is still expected and on what
// basis (the distributor's own campaigns, or the prior), and the price
// expected if it succeeds.
export function forecastView(c) {
  const f = c.forecast;
  if (!f) return null;
  const a = f.arrivals || {};
  return h('div', { class: 'forecast', id: 'forecast' },
    h('p', { class: 'forecast-line' }, t('fc.line', { e: one(f.expected_participants), pct: percent(f.success_probability) })),
    h('p', { class: 'hint forecast-arrivals' },
      t('fc.arrivals', { n: c.progress?.participants ?? 0, a: one(a.expected) }), ' ',
      a.basis === 'history' ? t('fc.basisHistory', { k: a.campaigns_used }) : t('fc.basisPrior')),
    h('p', { class: 'hint' }, t('fc.price', { price: money(cents(f.expected_final_unit_price_cents)), min: c.min_participants })));
}

// Shades each tier of a ladder list (lib/ui.js ladder(), one <li> per
// tier in order) by the probability that the campaign succeeds at that
// tier, and says it in words inside the tier.
export function shadeLadder(list, tierProbabilities) {
  if (!list || !tierProbabilities) return list;
  [...list.children].forEach((li, i) => {
    const p = percent(tierProbabilities[i]?.probability);
    li.classList.add('shaded');
    li.style.backgroundImage = `linear-gradient(to top, var(--shade, #ffd6de) ${p}%, transparent ${p}%)`;
    li.append(h('small', { class: 'tier-prob' }, t('fc.tierProb', { pct: p })));
  });
  return list;
}

// The editor's planner: POST /v1/admin/forecasts/ladder with the body the
// form would create (readBody() -> body, or null while it is incomplete),
// asked again 400 ms after the last change; an answer that a newer
// request overtook is dropped. Returns {el, update}.
export function plannerPanel(readBody) {
  const audience = h('input', { type: 'number', min: '0', step: '1', id: 'f-audience_size', inputmode: 'numeric',
    placeholder: t('pl.audienceAuto'), 'aria-describedby': 'f-audience_size-hint' });
  const out = h('div', { class: 'planner-out', 'aria-live': 'polite' });
  let timer = null;
  let seq = 0;
  async function run() {
    const body = readBody();
    const mine = ++seq;
    if (!body) {
      fill(out, h('p', { class: 'hint' }, t('pl.incomplete')));
      return;
    }
    if (audience.value !== '') body.audience_size = Number(audience.value);
    out.setAttribute('aria-busy', 'true');
    try {
      const plan = await api.post('/v1/admin/forecasts/ladder', body);
      if (mine === seq) draw(plan, body);
    } catch (err) {
      if (mine === seq) fill(out, h('p', { class: 'planner-error', role: 'status' }, errorText(err)));
    } finally {
      if (mine === seq) out.removeAttribute('aria-busy');
    }
  }
  function draw(plan, body) {
    const unit = body.tier_basis === 'quantity' ? 'c.tierUnits' : 'c.tierPeople';
    fill(out,
      h('p', { class: 'planner-line' }, t('fc.line', { e: one(plan.expected_participants), pct: percent(plan.success_probability) })),
      h('p', { class: 'hint' }, t(plan.basis === 'history' ? 'pl.audienceHistory' : 'pl.audiencePrior',
        { n: plan.audience_size, a: one(plan.arrivals?.expected), share: percent(plan.arrivals?.join_share) })),
      h('table', { class: 'grid compact planner-totals' },
        h('caption', { class: 'sr-only' }, t('pl.title')),
        h('tbody', {},
          h('tr', {}, h('th', { scope: 'row' }, t('pl.price')), h('td', { class: 'num' }, money(cents(plan.expected_final_unit_price_cents)))),
          h('tr', {}, h('th', { scope: 'row' }, t('pl.revenue')), h('td', { class: 'num revenue' }, money(plan.expected_revenue_cents))),
          h('tr', {}, h('th', { scope: 'row' }, t('pl.cost')), h('td', { class: 'num' }, money(plan.expected_cost_cents))),
          h('tr', {}, h('th', { scope: 'row' }, t('pl.margin')), h('td', { class: 'num margin' }, money(plan.expected_margin_cents))))),
      h('table', { class: 'grid compact planner-tiers' },
        h('caption', {}, t('pl.perTier')),
        h('thead', {}, h('tr', {},
          [t('pl.tier'), t('a.unitPrice'), t('pl.unitCost'), t('ed.marginCol'), t('pl.chance'), t('pl.expRevenue'), t('pl.expMargin')]
            .map((label, i) => h('th', { scope: 'col', class: i ? 'num' : null }, label)))),
        h('tbody', {}, (plan.tier_probabilities || []).map((x) => h('tr', {},
          h('th', { scope: 'row' }, t(unit, { n: x.threshold })),
          h('td', { class: 'num' }, money(x.unit_price_cents)),
          h('td', { class: 'num' }, money(x.cost_price_cents)),
          h('td', { class: `num${x.unit_margin_cents < 0 ? ' loss' : ''}` }, money(x.unit_margin_cents)),
          h('td', { class: 'num chance' }, `${percent(x.probability)}%`),
          h('td', { class: 'num' }, money(cents(x.expected_revenue_cents))),
          h('td', { class: 'num' }, money(cents(x.expected_margin_cents))))))));
  }
  const update = () => {
    clearTimeout(timer);
    timer = setTimeout(run, 400);
  };
  audience.addEventListener('input', update);
  const el = h('section', { class: 'planner', id: 'planner', 'aria-label': t('pl.title') },
    h('h2', { class: 'h3' }, t('pl.title')),
    h('div', { class: 'field' }, h('label', { for: audience.id }, t('pl.audience')), audience,
      h('p', { class: 'hint', id: 'f-audience_size-hint' }, t('pl.audienceHint'))),
    out);
  return { el, update, stop: () => clearTimeout(timer) };
}

// ---- calibration chart ---------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

// Ten buckets of predictions ({predicted_from, predicted_to, count,
// mean_predicted, observed_rate}) as an SVG square: the diagonal is a
// perfect model, each non-empty bucket a dot at (mean predicted, observed)
// sized by its count. The numbers are in a table beside it for people who
// do not see the chart.
export function calibrationChart(buckets, label) {
  const W = 220;
  const P = 28;
  const x = (v) => P + v * (W - 2 * P);
  const y = (v) => W - P - v * (W - 2 * P);
  const used = (buckets || []).filter((b) => b.count > 0 && b.mean_predicted !== null);
  const most = Math.max(1, ...used.map((b) => b.count));
  return s('svg', { class: 'calibration-chart', viewBox: `0 0 ${W} ${W}`, width: W, height: W, role: 'img', 'aria-label': label },
    s('title', {}, label),
    s('rect', { x: P, y: P, width: W - 2 * P, height: W - 2 * P, fill: 'none', stroke: '#ccc' }),
    s('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), stroke: '#999', 'stroke-dasharray': '4 3' }),
    [0, 0.5, 1].map((v) => [
      s('text', { x: x(v), y: W - 8, 'text-anchor': 'middle', 'font-size': 10 }, `${v * 100}%`),
      s('text', { x: 6, y: y(v) + 3, 'font-size': 10 }, `${v * 100}%`)]),
    s('text', { x: W / 2, y: P - 10, 'text-anchor': 'middle', 'font-size': 10 }, t('md.axes')),
    used.map((b) => s('circle', {
      class: 'bucket', cx: x(b.mean_predicted).toFixed(1), cy: y(b.observed_rate).toFixed(1),
      r: (3 + 6 * Math.sqrt(b.count / most)).toFixed(1), fill: '#d6336c', 'fill-opacity': '0.7',
    }, s('title', {}, t('md.bucketTitle', { from: percent(b.predicted_from), to: percent(b.predicted_to), n: b.count,
      p: percent(b.mean_predicted), o: percent(b.observed_rate) })))));
}

// The same buckets as a table (the chart's text).
export function bucketTable(buckets, caption) {
  return h('table', { class: 'grid compact buckets' },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, [t('md.bucket'), t('md.countCol'), t('md.predicted'), t('md.observed')]
      .map((l, i) => h('th', { scope: 'col', class: i ? 'num' : null }, l)))),
    h('tbody', {}, (buckets || []).filter((b) => b.count > 0).map((b) => h('tr', {},
      h('td', {}, `${percent(b.predicted_from)}–${percent(b.predicted_to)}%`),
      h('td', { class: 'num' }, b.count),
      h('td', { class: 'num' }, `${percent(b.mean_predicted)}%`),
      h('td', { class: 'num' }, `${percent(b.observed_rate)}%`)))));
}
