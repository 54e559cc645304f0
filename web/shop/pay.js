// shop/pay.js - paying what is due (the deposit, then the balance) and the
// sandbox checkout page the provider's checkout_url points to. After the
// outcome the shopper lands on the order centre's tab where the
// participation now is, with the outcome in focus.
import { t } from '../lib/i18n.js';
import { h, mount, money, focusOn } from '../lib/ui.js';
import { api, main, go, explain, toast } from './shell.js';

// POST .../payments for what is due now, then the checkout page. result:
// where a refusal is said.
export async function startPayment(p, result) {
  try {
    const r = await api.post(`/v1/participations/${p.id}/payments`, {});
    sessionStorage.setItem(`gb.pay.${r.payment.id}`, JSON.stringify(r.payment));
    if (r.checkout_url) {
      location.hash = new URL(r.checkout_url, location.origin).hash;
    } else {
      toast(t('pay.external'));
    }
  } catch (err) {
    const why = explain(err, 'pay');
    if (why !== null && result) {
      result.textContent = why;
      focusOn(result);
    }
  }
}

export function checkoutPage({ id }) {
  const payment = JSON.parse(sessionStorage.getItem(`gb.pay.${id}`) || 'null');
  const result = h('p', { class: 'result', role: 'status' });
  const buttons = [];
  const decide = (outcome) => async () => {
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const r = await api.post(`/v1/sandbox/payments/${id}`, { outcome });
      const ok = r.payment.status === 'succeeded';
      sessionStorage.removeItem(`gb.pay.${id}`);
      const kind = r.payment.kind || payment?.kind;
      const tab = !ok ? 'pay' : kind === 'deposit' ? 'group' : 'receive';
      sessionStorage.setItem('gb.shop.said', ok ? t('pay.succeeded') : t('pay.failed'));
      toast(ok ? t('pay.succeeded') : t('pay.failed'));
      go(`/orders?tab=${tab}`);
    } catch (err) {
      const why = explain(err, 'pay');
      if (why !== null) {
        result.textContent = why;
        focusOn(result);
      }
      buttons.forEach((b) => { b.disabled = false; });
    }
  };
  buttons.push(h('button', { type: 'button', class: 'primary confirm', onclick: decide('succeeded') }, t('pay.confirm')),
    h('button', { type: 'button', class: 'secondary decline', onclick: decide('failed') }, t('pay.decline')));
  mount(main, h('section', { class: 'checkout' },
    h('h1', {}, t('pay.title')),
    h('p', { class: 'sandbox-note' }, t('pay.sandbox')),
    payment ? h('p', { class: 'amount' }, t(`pay.kind.${payment.kind}`), ' ',
      h('strong', {}, money(payment.amount_cents))) : null,
    h('div', { class: 'actions' }, buttons),
    result));
}
