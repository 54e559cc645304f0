// admin/staff.js - the distributor's staff (owner): who can sign in, with
// which role, and a new operator or finance clerk.
import { t } from '../lib/i18n.js';
import { h, mount, dateTime } from '../lib/ui.js';
import { api, main, can, toast, field, form, fetchAll, dataTable, empty } from './shell.js';
import { show } from './shell.js';

async function staffPage({ ctx }) {
  const items = await fetchAll('/v1/admin/staff');
  const create = form({ class: 'inline-form', id: 'new-staff' }, async (f) => {
    await api.post('/v1/admin/staff', { login: f.get('login'), password: f.get('password'), role: f.get('role') });
    toast(t('a.saved'));
    ctx.run();
  },
  field('login', t('st.login'), h('input', { required: true, autocomplete: 'off' })),
  field('password', t('f.password'), h('input', { type: 'password', required: true, autocomplete: 'new-password' })),
  field('role', t('st.role'), h('select', {}, ['operator', 'finance'].map((r) => h('option', { value: r }, t(`role.${r}`))))),
  h('button', { type: 'submit', class: 'primary' }, t('st.add')));
  show(ctx, h('h1', {}, t('st.title')),
    h('p', { class: 'hint' }, t('st.roles')),
    dataTable(items, {
      id: 'staff',
      caption: t('st.title'),
      columns: [{ label: t('st.login') }, { label: t('st.role') }, { label: t('st.since') }],
      text: (s) => `${s.login} ${t(`role.${s.role}`)}`,
      empty: empty(t('st.none')),
      row: (s) => h('tr', {}, h('td', {}, s.login), h('td', {}, t(`role.${s.role}`)), h('td', {}, dateTime(s.created_at))),
    }),
    h('h2', {}, t('st.add')), create);
}

export default {
  routes: { '/staff': { page: staffPage, allowed: can.own } },
  nav: { href: '#/staff', label: 'st.title', order: 90, allowed: can.own },
};
