// i18n.js - every string the apps show comes from one dictionary per
// language (lang/zh-CN.js, lang/en.js). Chinese is the default; the choice
// is remembered in localStorage (not a secret). t('key', {n: 3}) fills
// {n} placeholders.
import zh from './lang/zh-CN.js';
import en from './lang/en.js';

const dicts = { 'zh-CN': zh, en };
let lang = localStorage.getItem('gb.lang') in dicts ? localStorage.getItem('gb.lang') : 'zh-CN';
document.documentElement.lang = lang;

export function t(key, vars) {
  const s = dicts[lang][key] ?? dicts['zh-CN'][key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`)) : s;
}

export function getLang() { return lang; }

export function setLang(l) {
  if (!(l in dicts)) return;
  lang = l;
  localStorage.setItem('gb.lang', l);
  document.documentElement.lang = l;
}

// Fills elements of the static HTML that carry data-i18n="key".
export function translateStatic(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.title = t(document.body.dataset.titleKey || 'app.title');
}
