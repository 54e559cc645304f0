// shop/cards.js - the facts of a campaign as the list's cards and the
// campaign page show them: the price now against the list price, the
// count toward the next tier, how many are still needed, units left, the
// time left (or to the start), and the state a shopper meets it in.
import { t } from '../lib/i18n.js';
import { h, money, progressBar, countdown, duration, dateTime } from '../lib/ui.js';

export const TERMINAL = ['succeeded', 'failed', 'cancelled'];

export function priceNow(c) {
  return c.final_unit_price_cents ?? c.progress.current_unit_price_cents;
}

// The price now, large; the list price struck through only when it is
// higher (a campaign whose first tier is the list price shows it once).
export function priceBlock(c) {
  const now = priceNow(c);
  const list = c.product?.list_price_cents;
  return h('div', { class: 'price' },
    h('span', { class: 'price-now' }, money(now)),
    list !== undefined && list > now
      ? h('s', { class: 'price-list' }, h('span', { class: 'sr-only' }, t('c.listPrice')), money(list))
      : null);
}

export function statusBadge(status) {
  return h('span', { class: `badge s-${status}` }, t(`status.${status}`));
}

// Units left, when the cap is near (or reached).
export function scarce(c) {
  const left = c.progress.remaining_quantity;
  if (left <= 0) return h('p', { class: 'scarce soldout' }, t('c.soldOut'));
  if (left <= Math.max(10, c.max_quantity / 10)) return h('p', { class: 'scarce' }, t('c.unitsLeft', { n: left }));
  return null;
}

export function liveFacts(c) {
  const p = c.progress;
  const unit = c.tier_basis === 'quantity' ? 'units' : 'people';
  const facts = [];
  if (TERMINAL.includes(c.status)) {
    facts.push(h('p', { class: 'outcome' }, t(`c.outcome.${c.status}`)));
    return facts;
  }
  facts.push(p.next_tier
    ? h('p', { class: 'next' }, t(`c.next.${unit}`, { n: p.next_tier.needed, price: money(p.next_tier.unit_price_cents) }))
    : h('p', { class: 'next' }, t('c.lowest')));
  const missing = c.min_participants - p.participants;
  facts.push(!p.threshold_reached && missing > 0
    ? h('p', { class: 'missing' }, t('c.missing', { n: missing }))
    : h('p', { class: 'reached' }, t('c.reachedThreshold')));
  facts.push(scarce(c));
  return facts;
}

// "剩余 …" while open, "距开始 …" while scheduled, nothing after.
export function clockText(c, now = Date.now()) {
  if (c.status === 'open') return countdown(c.ends_at, now);
  if (c.status === 'scheduled') return t('c.startsIn', { time: duration(c.starts_at, now) });
  return '';
}

export function startsLine(c) {
  return h('p', { class: 'starts' }, t('c.startsAt', { time: dateTime(c.starts_at) }));
}

export function cardLive(c) {
  return [
    priceBlock(c),
    c.status === 'scheduled' ? startsLine(c) : progressBar(c),
    c.status === 'scheduled' ? null : h('p', { class: 'participants' }, t('c.joined', { n: c.progress.participants })),
    ...liveFacts(c),
    h('p', { class: 'card-foot' }, statusBadge(c.status), ' ', h('span', { class: 'clock' }, clockText(c))),
  ];
}
