// api.js - the one door to groupbuyd's HTTP API (API.md) for both apps.
// The bearer token lives in sessionStorage (never in a URL or a cookie),
// under a key per app so a staff tab and a shopper tab do not mix.
// Errors come back as ApiError carrying the contract's code, message and
// the field the server named, so forms can show it next to that field.
//
// Hooks (all optional, the second argument of makeApi): onUnauthorized(err)
// when a call made with a token is answered 401 (the token has expired or
// was revoked: it is dropped first); onNetwork(err) when the server could
// not be reached; onReachable() after any answer from the server, so an
// app can take down what it showed while it was unreachable.

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || (status === 0 ? 'network' : 'unknown');
    this.field = e.field || null;
  }
}

export function makeApi(storageKey, hooks = {}) {
  let token = sessionStorage.getItem(storageKey);

  async function call(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    const sent = token;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // Every POST that creates or moves money gets a fresh key: a retry of
    // the same click (double tap, flaky network) is then answered once.
    if (method === 'POST') headers['Idempotency-Key'] = opts.key || crypto.randomUUID();
    let res;
    try {
      res = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      const err = new ApiError(0, { error: { code: 'network', message: '' } });
      if (hooks.onNetwork) hooks.onNetwork(err);
      throw err;
    }
    if (hooks.onReachable) hooks.onReachable();
    if (opts.raw) {
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      return res;
    }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      const err = new ApiError(res.status, data);
      if (res.status === 401 && sent && !opts.login) {
        if (token === sent) setToken(null);
        if (hooks.onUnauthorized) hooks.onUnauthorized(err);
      }
      throw err;
    }
    return data;
  }

  function setToken(t) {
    token = t;
    if (t) sessionStorage.setItem(storageKey, t);
    else sessionStorage.removeItem(storageKey);
  }

  return {
    get: (p, o) => call('GET', p, undefined, o),
    post: (p, b = {}, o) => call('POST', p, b, o),
    patch: (p, b, o) => call('PATCH', p, b, o),
    put: (p, b, o) => call('PUT', p, b, o),
    del: (p, o) => call('DELETE', p, undefined, o),
    loggedIn: () => !!token,
    setToken,
  };
}
