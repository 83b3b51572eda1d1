// Trunk post_build hook (Trunk.toml). In a debug build — `trunk serve` — it lays the
// staging dir out as a small host site, so http://127.0.0.1:8080/ previews the widget
// the way a host page embeds it:
//   /            the demo shop (demo/index.html); its snippet loads the loader from this
//                server's other loopback name (127.0.0.1 ⇄ localhost), so the shop and
//                the widget are two origins, as on a real site
//   /shop.css    the shop's (hostile) style
//   /loader.js   loader/loader.js as written, so an edit shows on the next reload
//   /widget/     the frame Trunk built (public_url /widget/), under the frame's own
//                Content-Security-Policy (scripts/frame-csp.mjs), as in production
// Trunk's live-reload script moves from the frame to the shop page: a rebuild reloads
// the whole page, host and frame. Release builds (scripts/build-widget) are left alone.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

if (process.env.TRUNK_PROFILE !== 'debug') process.exit(0);
const root = resolve(import.meta.dirname, '..');
const stage = process.env.TRUNK_STAGING_DIR;
if (!stage) throw new Error('trunk-preview: run by Trunk as a post_build hook (no TRUNK_STAGING_DIR)');

// The frame goes where the loader opens it: /widget/.
const widget = join(stage, 'widget');
const built = readdirSync(stage);
mkdirSync(widget);
for (const name of built) renameSync(join(stage, name), join(widget, name));

// Take Trunk's live-reload script out of the frame (its CSP would refuse it) for the shop.
const framePage = join(widget, 'index.html');
let frame = readFileSync(framePage, 'utf8');
const reload = frame.match(/<script>[^<]*\{\{__TRUNK_ADDRESS__\}\}[\s\S]*?<\/script>/);
if (reload) frame = frame.replace(reload[0], '');
writeFileSync(framePage, frame);
execFileSync(process.execPath, [join(root, 'scripts/frame-csp.mjs'), framePage], { stdio: 'inherit' });

// The shop with its snippet pointed at this server's other name: the same attributes,
// the demo's widget origin replaced by the other name's origin when the page runs.
const DEMO_ORIGIN = 'http://localhost:8787';
let shop = readFileSync(join(root, 'demo/index.html'), 'utf8');
const snippet = shop.match(/<script src="http:\/\/localhost:8787\/loader\.js"([^>]*)><\/script>/);
if (!snippet) throw new Error('trunk-preview: no EverDesk snippet in demo/index.html');
const attrs = Object.fromEntries(
  [...snippet[1].matchAll(/([\w-]+)(?:="([^"]*)")?/g)].map(([, name, value = '']) => [name, value]),
);
const inject = `<script>
  // trunk serve preview: the snippet above, loaded from this dev server's other
  // loopback name (scripts/trunk-preview.mjs).
  (function (d, u, attrs) {
    u.hostname = u.hostname == 'localhost' ? '127.0.0.1' : 'localhost';
    var s = d.createElement('script');
    for (var name in attrs) s.setAttribute(name, attrs[name].replace(${JSON.stringify(DEMO_ORIGIN)}, u.origin));
    s.src = u.origin + '/loader.js';
    d.body.append(s);
  })(document, new URL(location.href), ${JSON.stringify(attrs)});
</script>`;
shop = shop.replace(snippet[0], inject);
shop = shop.replace('</body>', `${reload ? reload[0] : ''}</body>`);
writeFileSync(join(stage, 'index.html'), shop);
copyFileSync(join(root, 'demo/shop.css'), join(stage, 'shop.css'));
copyFileSync(join(root, 'loader/loader.js'), join(stage, 'loader.js'));
console.log('trunk-preview: / is the demo shop embedding the widget from /loader.js and /widget/');
