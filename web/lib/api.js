// api.js - the one door to groupbuyd's HTTP API (API.md) for both apps.
// The bearer token lives in sessionStorage (never in a URL or a cookie),
// under a key per app so a staff tab and a shopper tab do not mix.
// Errors come back as ApiError carrying the contract's code, message and
// the field the server named, so forms can show it next to that field.

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'network';
    this.field = e.field || null;
  }
}

export function makeApi(storageKey) {
  let token = sessionStorage.getItem(storageKey);

  async function call(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
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
      throw new ApiError(0, { error: { code: 'network', message: '' } });
    }
    if (opts.raw) {
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      return res;
    }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      if (res.status === 401 && token && !opts.login) setToken(null);
      throw new ApiError(res.status, data);
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
