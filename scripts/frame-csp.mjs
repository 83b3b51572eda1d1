// Adds a Content-Security-Policy to the built widget frame page (dist/widget/index.html):
// only our own scripts (plus Trunk's one inline module loader, by its hash) and wasm,
// our own styles, and network access to our own origin — where the proxy that serves
// the widget also answers the API. Defence in depth: the frame holds the session token.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const html = readFileSync(file, 'utf8');
// Trunk may minify the page (unquoted attributes), so match either spelling.
const scripts = [...html.matchAll(/<script type="?module"?>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
if (scripts.length !== 1) throw new Error(`expected Trunk's one inline module script, found ${scripts.length}`);
const hash = createHash('sha256').update(scripts[0], 'utf8').digest('base64');
const policy = [
  "default-src 'none'",
  `script-src 'self' 'wasm-unsafe-eval' 'sha256-${hash}'`,
  "style-src 'self'",
  // The brand colour is a custom property in a style attribute; attributes cannot run code.
  "style-src-attr 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
const meta = `<meta http-equiv="Content-Security-Policy" content="${policy}" />`;
if (html.includes('http-equiv="Content-Security-Policy"')) throw new Error('policy already present');
const charset = html.match(/<meta charset="?utf-8"?\s*\/?>/i);
if (!charset) throw new Error('no <meta charset> to put the policy after');
writeFileSync(file, html.replace(charset[0], `${charset[0]}${meta}`));
console.log(`frame-csp: ${file} locked to script hash sha256-${hash.slice(0, 12)}…`);
