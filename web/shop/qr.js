// shop/qr.js - a QR code as an SVG element, built with the DOM (no markup
// parsed) from the vendored encoder (web/vendor/qr), which is loaded only
// when a code is first shown.
const NS = 'http://www.w3.org/2000/svg';

export async function qrSvg(text, label) {
  const { encodeQR } = await import('../vendor/qr/qr.js');
  const rows = encodeQR(text, 'raw', { ecc: 'medium', border: 2 });
  const n = rows.length;
  let d = '';
  rows.forEach((row, y) => row.forEach((dark, x) => { if (dark) d += `M${x} ${y}h1v1h-1z`; }));
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${n} ${n}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('class', 'qr');
  const bg = document.createElementNS(NS, 'rect');
  bg.setAttribute('width', String(n));
  bg.setAttribute('height', String(n));
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return svg;
}
