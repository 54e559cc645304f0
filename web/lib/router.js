// router.js - a hash router: "#/c/7" runs the handler registered for
// "/c/:id" with {id: "7"}. Hash routes need no server support and never
// put a token in a URL.
//
// A handler may be async and may return a function to call when the page
// is left (closing its event stream, stopping its countdown). Its second
// argument's alive() turns false as soon as another route has run, so a
// page that finished loading after the user moved on does not draw over
// the new one; a leave function such a page returns is called at once.

export function makeRouter(routes, notFound) {
  const table = Object.entries(routes).map(([pattern, handler]) => {
    const names = [];
    const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, n) => {
      names.push(n);
      return '([^/?]+)';
    }) + '$');
    return { re, names, handler };
  });
  let leave = null;
  let gen = 0;

  function run() {
    const path = (location.hash || '#/').slice(1) || '/';
    if (leave) { leave(); leave = null; }
    const mine = ++gen;
    const ctx = { alive: () => gen === mine };
    for (const { re, names, handler } of table) {
      const m = path.match(re);
      if (m) {
        const params = {};
        names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
        Promise.resolve(handler(params, ctx)).then((f) => {
          if (typeof f !== 'function') return;
          if (ctx.alive()) leave = f;
          else f();
        });
        return;
      }
    }
    notFound();
  }
  addEventListener('hashchange', run);
  return { run, go: (path) => { location.hash = '#' + path; } };
}
