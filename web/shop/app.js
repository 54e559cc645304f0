// shop/app.js - the shoppers' app (mobile first): the header, the routes,
// logging in and registering. The pages are in list.js (the campaign
// list), campaign.js (one campaign and joining), pay.js (the sandbox
// checkout) and orders.js (the order centre, loaded on first use); what
// they share is in shell.js. Everything is said in the user's language,
// from the dictionaries (web/lib/lang).
import { t, getLang, setLang, translateStatic } from '../lib/i18n.js';
import { makeRouter } from '../lib/router.js';
import { h, fill, mount, showError, langSwitch, focusOn } from '../lib/ui.js';
import {
  api, main, session, loadMe, setMe, onSessionChange, go, query, explain, currentPath,
} from './shell.js';
import { listPage } from './list.js';
import { campaignPage } from './campaign.js';
import { checkoutPage } from './pay.js';
import { keepShareCode } from './sharecode.js';

const nav = document.getElementById('nav');

function drawNav() {
  fill(nav,
    session.me
      ? h('a', { href: '#/orders', class: 'nav-orders' }, t('nav.orders'))
      : null,
    session.me
      ? h('button', { type: 'button', class: 'link logout', onclick: async () => {
        await api.del('/v1/sessions/current').catch(() => {});
        api.setToken(null);
        setMe(null);
        go('/');
      } }, t('nav.logout'))
      : h('a', { href: `#/login?next=${encodeURIComponent(currentPath().split('?')[0])}`, class: 'nav-login' }, t('nav.login')),
    langSwitch((l) => { setLang(l); translateStatic(); drawNav(); router.run(); }, getLang(), true));
}
onSessionChange(drawNav);
window.addEventListener('hashchange', () => { if (!session.me) drawNav(); });

// ---- log in and register -----------------------------------------------

function nextOf() {
  const n = query().get('next');
  return n && n.startsWith('/') && !n.startsWith('//') ? n : '/';
}

function field(name, label, attrs, hint) {
  const id = `f-${name}`;
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, label),
    h('input', { id, name, ...attrs, 'aria-describedby': hint ? `${id}-hint` : null }),
    hint ? h('p', { class: 'hint muted', id: `${id}-hint` }, hint) : null);
}

function loginPage() {
  const expired = query().get('why') === 'expired';
  const form = h('form', { class: 'auth', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const r = await api.post('/v1/sessions', { login: f.get('login'), password: f.get('password') }, { login: true });
      api.setToken(r.token);
      await loadMe();
      go(nextOf());
    } catch (err) {
      focusOn(showError(form, err, explain(err, 'login')));
    } finally {
      button.disabled = false;
    }
  } },
  field('login', t('f.login'), { autocomplete: 'username', required: true, inputmode: 'email' }),
  field('password', t('f.password'), { type: 'password', autocomplete: 'current-password', required: true }),
  h('button', { type: 'submit', class: 'primary' }, t('nav.login')));
  mount(main, h('h1', {}, t('nav.login')),
    expired ? h('p', { class: 'notice', role: 'alert' }, t('auth.expired')) : null,
    form,
    h('p', {}, h('a', { class: 'tap', href: `#/register?next=${encodeURIComponent(nextOf())}` }, t('auth.noAccount'))));
}

function registerPage() {
  const form = h('form', { class: 'auth', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { login: f.get('login'), password: f.get('password'), display_name: f.get('display_name') };
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await api.post('/v1/customers', body);
      const r = await api.post('/v1/sessions', { login: body.login, password: body.password }, { login: true });
      api.setToken(r.token);
      await loadMe();
      go(nextOf());
    } catch (err) {
      const box = showError(form, err, explain(err, 'register'));
      focusOn(form.querySelector('[aria-invalid]') || box);
    } finally {
      button.disabled = false;
    }
  } },
  field('login', t('f.loginHint'), { autocomplete: 'username', required: true, inputmode: 'email' }, t('f.loginRule')),
  field('display_name', t('f.displayName'), { autocomplete: 'nickname', required: true, maxlength: '64' }),
  field('password', t('f.password'), { type: 'password', autocomplete: 'new-password', required: true }, t('f.passwordRule')),
  h('button', { type: 'submit', class: 'primary' }, t('auth.register')));
  mount(main, h('h1', {}, t('auth.register')), form,
    h('p', {}, h('a', { class: 'tap', href: `#/login?next=${encodeURIComponent(nextOf())}` }, t('auth.haveAccount'))));
}

// ---- routes --------------------------------------------------------------

const orders = (params, ctx) => import('./orders.js').then((m) => m.ordersPage(params, ctx));
const strip = (fn) => (params) => fn(params);
// the shopper's shares, waitlist, questions and complaints: loaded on first use
const lazy = (mod, fn) => (params, ctx) => import(mod).then((m) => m[fn](params, ctx));
const router = makeRouter({
  '/': listPage,
  '/\\?.*': listPage,
  '/c/:id': campaignPage,
  '/login': loginPage,
  '/login\\?.*': loginPage,
  '/register': registerPage,
  '/register\\?.*': registerPage,
  '/me': orders,
  '/orders': orders,
  '/me/shares': lazy('./growth.js', 'mySharesPage'),
  '/me/waitlist': lazy('./growth.js', 'myWaitlistPage'),
  '/me/questions': lazy('./service.js', 'myQuestionsPage'),
  '/me/complaints': lazy('./service.js', 'myComplaintsPage'),
  '/orders\\?.*': orders,
  '/checkout/:id': strip(checkoutPage),
}, () => mount(main, h('h1', {}, t('err.notFound')), h('p', {}, h('a', { class: 'button', href: '#/' }, t('nav.campaigns')))));

translateStatic();
drawNav();
keepShareCode();
loadMe().then(() => router.run());
