// router.js - a hash router: "#/c/7" runs the handler registered for
// "/c/:id" with {id: "7"}. Hash routes need no server support and never
// put a token in a URL.

export function makeRouter(routes, notFound) {
  const table = Object.entries(routes).map(([pattern, handler]) => {
    const names = [];
    const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, n) => {
      names.push(n);
      return '([^/]+)';
    }) + '$');
    return { re, names, handler };
  });
  let leave = null;

  function run() {
    const path = (location.hash || '#/').slice(1) || '/';
    if (leave) { leave(); leave = null; }
    for (const { re, names, handler } of table) {
      const m = path.match(re);
      if (m) {
        const params = {};
        names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
        // a handler may return a function to call when the page is left
        // (closing its event stream, stopping its countdown)
        Promise.resolve(handler(params)).then((f) => {
          if (typeof f === 'function') leave = f;
        });
        return;
      }
    }
    notFound();
  }
  addEventListener('hashchange', run);
  return { run, go: (path) => { location.hash = '#' + path; } };
}
