// i18n.js - every string the apps show comes from one dictionary per
// language (lang/zh-CN.js, lang/en.js). Chinese is the default; the choice
// is remembered in localStorage (not a secret). t('key', {n: 3}) fills
// {n} placeholders; with n === 1 a 'key.one' entry, where the language has
// one ("1 person"), is taken instead of 'key'.
import zh from './lang/zh-CN.js';
import en from './lang/en.js';

const dicts = { 'zh-CN': zh, en };
let lang = localStorage.getItem('gb.lang') in dicts ? localStorage.getItem('gb.lang') : 'zh-CN';
document.documentElement.lang = lang;

export function t(key, vars) {
  const one = vars && vars.n === 1 ? dicts[lang][`${key}.one`] : undefined;
  const s = one ?? dicts[lang][key] ?? dicts['zh-CN'][key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`)) : s;
}

export function getLang() { return lang; }

// Whether the dictionary has key (in the current language or the default).
export function has(key) { return key in dicts[lang] || key in dicts['zh-CN']; }

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
