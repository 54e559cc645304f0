// admin/app.js - the staff and finance app (desktop first): the menu and
// the router. Every screen is a module of its own beside this file that
// exports {routes, nav}: routes maps hash paths to page functions, nav
// (optional) puts the screen in the menu for the roles allowed to use it.
// A new screen is a new module and one line in SCREENS. What a role may
// not do the server refuses (403); the menu leaves it out, and a screen
// opened by its address says so instead of failing.
import { t, getLang, setLang, translateStatic } from '../lib/i18n.js';
import { makeRouter } from '../lib/router.js';
import { h, fill, mount, langSwitch } from '../lib/ui.js';
import { api, main, show, currentStaff, setStaff, errorText } from './shell.js';

import login from './login.js';
import campaigns from './campaigns.js';
import editor from './editor.js';
import dashboard from './dashboard.js';
import audience from './audience.js';
import products from './products.js';
import stock from './stock.js';
import pickupPoints from './pickup-points.js';
import fulfilment from './fulfilment.js';
import afterSales from './aftersales.js';
import customers from './customers.js';
import finance from './finance.js';
import webhooks from './webhooks.js';
import staffScreen from './staff.js';
import model from './model.js';
import service from './service.js';

const SCREENS = [login, campaigns, editor, dashboard, audience, products, stock, pickupPoints,
  fulfilment, afterSales, customers, finance, webhooks, staffScreen, model, service];

const nav = document.getElementById('nav');

function currentPath() {
  return ((location.hash || '#/').slice(1) || '/').split('?')[0];
}

function drawNav() {
  const here = currentPath();
  const entries = SCREENS.filter((s) => s.nav && currentStaff() && s.nav.allowed())
    .sort((a, b) => a.nav.order - b.nav.order);
  fill(nav,
    entries.map((s) => {
      const active = s.nav.match ? s.nav.match(here) : here === s.nav.href.slice(1);
      return h('a', { href: s.nav.href, 'aria-current': active ? 'page' : null }, t(s.nav.label));
    }),
    currentStaff() ? h('span', { class: 'who muted' }, currentStaff().login, ' · ',
      t(`role.${currentStaff().role}`)) : null,
    currentStaff() ? h('button', { class: 'link', onclick: logout }, t('nav.logout')) : null,
    langSwitch((l) => { setLang(l); translateStatic(); drawNav(); router.run(); }, getLang()));
}

async function logout() {
  await api.del('/v1/sessions/current').catch(() => {});
  api.setToken(null);
  setStaff(null);
  drawNav();
  router.go('/login');
}

// Signed in and allowed, or the login page / a "not for your role" page;
// a page that fails to load says so in place of its content.
function guard(page, allowed) {
  return (params) => {
    if (!currentStaff() || !api.loggedIn()) {
      setStaff(null);
      drawNav();
      router.go('/login');
      return undefined;
    }
    if (allowed && !allowed()) {
      mount(main, h('h1', {}, t('ad.forbidden')),
        h('p', { class: 'empty', role: 'status' }, t('ad.forbiddenHint')),
        h('a', { href: '#/' }, t('ad.toHome')));
      return undefined;
    }
    return Promise.resolve(page(params)).catch((err) => {
      if (err.status === 401) { setStaff(null); drawNav(); router.go('/login'); return; }
      show(params.ctx, h('h1', {}, t('err.load')), h('p', { role: 'alert' }, errorText(err)),
        h('button', { class: 'secondary', onclick: () => router.run() }, t('ad.retry')));
    });
  };
}

// Each path also takes a query ("#/finance?from=2026-12-01&to=...").
const table = {};
for (const s of SCREENS) {
  for (const [path, r] of Object.entries(s.routes)) {
    table[`${path}(?:\\?.*)?`] = r.public ? r.page : guard(r.page, r.allowed);
  }
}

const ctx = { go: (p) => router.go(p), run: () => router.run(), signedIn: () => drawNav() };
const router = makeRouter(Object.fromEntries(Object.entries(table).map(([p, f]) =>
  [p, (params, route) => f({ ...params, ctx: { ...ctx, alive: route.alive } })])),
() => mount(main, h('h1', {}, t('err.notFound'))));

addEventListener('hashchange', drawNav);
translateStatic();
drawNav();
router.run();
