// admin/login.js - staff sign in (POST /v1/admin/sessions). Finance lands
// on its settlements, everyone else on the campaigns.
import { t } from '../lib/i18n.js';
import { h, mount } from '../lib/ui.js';
import { api, main, setStaff, field, form } from './shell.js';
import { show } from './shell.js';

function loginPage({ ctx }) {
  const f = form({ class: 'auth' }, async (data) => {
    const r = await api.post('/v1/admin/sessions',
      { login: data.get('login'), password: data.get('password') }, { login: true });
    api.setToken(r.token);
    setStaff(r.staff);
    ctx.signedIn();
    ctx.go(r.staff.role === 'finance' ? '/finance' : '/');
  },
  field('login', t('f.login'), h('input', { autocomplete: 'username', required: true })),
  field('password', t('f.password'), h('input', { type: 'password', autocomplete: 'current-password', required: true })),
  h('button', { type: 'submit', class: 'primary' }, t('nav.login')));
  show(ctx, h('h1', {}, t('a.staffLogin')), f);
}

export default { routes: { '/login': { page: loginPage, public: true } } };
