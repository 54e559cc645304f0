// admin/model.js - the reliability model (owner): how well it predicted
// (the calibration of p_complete at join time and of the success
// forecasts at 25, 50 and 75 %, each as a chart of predicted against
// observed with its Brier score), the parameters in force, and the refit:
// current against proposed on the newest fifth of the history, adopted
// with one button (audited by the server), or dropped for the defaults.
import { t } from '../lib/i18n.js';
import { h, fill, mount, dateTime } from '../lib/ui.js';
import { api, main, can, toast, errorText, empty } from './shell.js';
import { calibrationChart, bucketTable, percent } from './forecast.js';
import { show } from './shell.js';

const NAMES = ['half_life_days', 'prior_alpha_base', 'prior_alpha_per_vip', 'prior_beta',
  'weight_withdrawn', 'weight_deposit_expired', 'weight_defaulted'];
const num = (v, d = 3) => (v === null || v === undefined ? '—' : Number(v.toFixed(d)).toString());

function brierText(b) {
  return b === null || b === undefined ? t('md.noOutcome') : t('md.brier', { b: b.toFixed(3) });
}

function calibrationBlock(id, title, buckets, brier, n) {
  return h('section', { class: 'calibration', id, 'aria-label': title },
    h('h3', {}, title),
    h('p', { class: 'hint' }, t('md.count', { n }), ' · ', brierText(brier)),
    n > 0 ? h('div', { class: 'chart-row' }, calibrationChart(buckets, title), bucketTable(buckets, title))
      : empty(t('md.nothingYet')));
}

function paramsTable(columns) {
  // columns: [{label, params, cls}]
  return h('table', { class: 'grid compact params' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('md.parameter')),
      columns.map((c) => h('th', { scope: 'col', class: 'num' }, c.label)))),
    h('tbody', {}, NAMES.map((k) => h('tr', { 'data-param': k },
      h('th', { scope: 'row' }, t(`md.p.${k}`)),
      columns.map((c) => h('td', { class: `num ${c.cls || ''}` }, c.params ? num(c.params[k]) : '—'))))));
}

async function modelPage({ ctx }) {
  const [report, params] = await Promise.all([
    api.get('/v1/admin/reports/reliability'),
    api.get('/v1/admin/reliability/parameters'),
  ]);
  const refitBox = h('div', { id: 'refit-result', 'aria-live': 'polite' });
  const refitButton = h('button', { type: 'button', class: 'primary', id: 'refit', onclick: refit }, t('md.refit'));

  async function refit() {
    refitButton.disabled = true;
    fill(refitBox, h('p', { class: 'hint' }, t('md.fitting')));
    try {
      const r = await api.post('/v1/admin/reliability/refit', {});
      const better = r.proposed.log_loss < r.current.log_loss;
      fill(refitBox,
        h('p', {}, t('md.holdout', { c: r.holdout.campaigns, n: r.holdout.participations,
          tc: r.training?.campaigns ?? 0, tn: r.training?.participations ?? 0 })),
        paramsTable([
          { label: t(params.source === 'adopted' ? 'md.currentAdopted' : 'md.currentDefaults'), params: r.current.parameters },
          { label: t('md.proposed'), params: r.proposed.parameters, cls: 'proposed' }]),
        h('table', { class: 'grid compact scores' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('md.heldOut')),
            h('th', { scope: 'col', class: 'num' }, t('md.current')), h('th', { scope: 'col', class: 'num' }, t('md.proposed')))),
          h('tbody', {},
            h('tr', {}, h('th', { scope: 'row' }, t('md.logLoss')), h('td', { class: 'num' }, num(r.current.log_loss, 4)),
              h('td', { class: 'num proposed-loss' }, num(r.proposed.log_loss, 4))),
            h('tr', {}, h('th', { scope: 'row' }, t('md.brierCol')), h('td', { class: 'num' }, num(r.current.brier_score, 4)),
              h('td', { class: 'num' }, num(r.proposed.brier_score, 4))))),
        h('p', { class: better ? 'outcome ok' : 'outcome' }, t(better ? 'md.better' : 'md.notBetter')),
        h('button', { type: 'button', class: better ? 'primary' : 'secondary', id: 'adopt', onclick: async (e) => {
          e.target.disabled = true;
          try {
            await api.put('/v1/admin/reliability/parameters', { parameters: r.proposed.parameters });
            toast(t('md.adopted'));
            ctx.run();
          } catch (err) {
            toast(errorText(err));
            e.target.disabled = false;
          }
        } }, t('md.adopt')));
    } catch (err) {
      // 409: not enough history, said by the server
      fill(refitBox, h('p', { class: 'notice', role: 'status' }, errorText(err)));
    } finally {
      refitButton.disabled = false;
    }
  }

  const fc = report.forecast || [];
  show(ctx, h('h1', {}, t('md.title')),
    h('p', { class: 'hint' }, t('md.intro')),
    h('h2', {}, t('md.joinTitle')),
    calibrationBlock('cal-join', t('md.joinChart'), report.buckets, report.brier_score, report.outcomes ?? 0),
    h('h2', {}, t('md.forecastTitle')),
    h('div', { class: 'chart-grid' }, fc.map((x) => calibrationBlock(`cal-${Math.round(x.checkpoint * 100)}`,
      t('md.checkpoint', { pct: percent(x.checkpoint) }), x.buckets, x.brier_score, x.campaigns))),
    h('h2', {}, t('md.paramsTitle')),
    h('p', { id: 'params-source' }, params.source === 'adopted'
      ? t('md.sourceAdopted', { at: dateTime(params.adopted_at) }) : t('md.sourceDefaults')),
    paramsTable([
      { label: t('md.inForce'), params: params.parameters, cls: 'in-force' },
      { label: t('md.defaults'), params: params.defaults },
      { label: t('md.previous'), params: params.previous }]),
    params.source === 'adopted' ? h('button', { type: 'button', class: 'secondary', id: 'to-defaults', onclick: async () => {
      if (!confirm(t('md.toDefaultsConfirm'))) return;
      try {
        await api.del('/v1/admin/reliability/parameters');
        toast(t('md.backToDefaults'));
        ctx.run();
      } catch (err) { toast(errorText(err)); }
    } }, t('md.toDefaults')) : null,
    h('h2', {}, t('md.refitTitle')),
    h('p', { class: 'hint' }, t('md.refitHint')),
    refitButton, refitBox);
}

export default {
  routes: { '/model': { page: modelPage, allowed: can.own } },
  nav: { href: '#/model', label: 'md.title', order: 85, allowed: can.own },
};
