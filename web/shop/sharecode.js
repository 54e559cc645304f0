// shop/sharecode.js - the code of a share link a friend arrived with:
// kept for the campaign it names (this tab only) and sent with the join
// or the waitlist entry. Part of the first load, so it stays small; the
// share card and the waitlist are growth.js's.

const CODE = /^[a-km-np-z2-9]{8,32}$/;
const codeKey = (cid) => `gb.shop.share.${cid}`;

// A share link's page sends the browser to /?share=CODE#/c/ID: the code is
// kept for that campaign (for this tab) and taken out of the address.
export function keepShareCode() {
  const q = new URLSearchParams(location.search);
  const code = q.get('share');
  if (code === null) return;
  const m = (location.hash || '').match(/^#\/c\/(\d+)/);
  if (m && CODE.test(code)) sessionStorage.setItem(codeKey(m[1]), code);
  q.delete('share');
  const rest = q.toString();
  history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
}

export function shareCodeFor(cid) { return sessionStorage.getItem(codeKey(cid)); }
export function dropShareCode(cid) { sessionStorage.removeItem(codeKey(cid)); }

// The join body with the code, when the shopper came through a link.
export function withShareCode(cid, body) {
  const code = shareCodeFor(cid);
  return code ? { ...body, share_code: code } : body;
}
