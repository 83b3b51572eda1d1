// Minifies the wasm-bindgen JS glue Trunk wrote into dist/widget (about 2 KB gz less
// to download) and updates its subresource-integrity hash in index.html, so the
// browser still verifies exactly the file it gets.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { minify } from 'terser';

const dir = process.argv[2];
const page = join(dir, 'index.html');
let html = readFileSync(page, 'utf8');
const glue = readdirSync(dir).filter((f) => f.endsWith('.js'));
if (glue.length !== 1) throw new Error(`expected one JS glue file in ${dir}, found ${glue.length}`);
const file = join(dir, glue[0]);
const source = readFileSync(file, 'utf8');
const { code } = await minify(source, { module: true, compress: { passes: 2 }, mangle: true });
writeFileSync(file, code);
const sri = (text) => `sha384-${createHash('sha384').update(text, 'utf8').digest('base64')}`;
const before = sri(source);
if (!html.includes(before)) throw new Error(`index.html does not pin ${glue[0]} by ${before}`);
html = html.replace(before, sri(code));
writeFileSync(page, html);
console.log(`minify-glue: ${glue[0]} ${source.length} -> ${code.length} bytes`);
