// Minifies the wasm-bindgen JS glue Trunk wrote into dist/widget (about 2 KB gz less
// to download) and updates its subresource-integrity hash in index.html, so the
// browser still verifies exactly the file it gets.
// First it shortens the wasm's import, export and import-module names (wasm-opt
// --minify-imports-and-exports-and-modules): wasm-bindgen's names carry a random hash
// each (`__wbg_setAttribute_f75317b2…`), in both the wasm and the glue, which gzip
// cannot compress. The glue is renamed to match from wasm-opt's map, and every name
// must be found exactly where expected, or the build fails. About 3.5 KB gz less.
import { execFileSync } from 'node:child_process';
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
const wasmFile = join(dir, glue[0].replace(/\.js$/, '_bg.wasm'));
const sri = (text) => `sha384-${createHash('sha384').update(text).digest('base64')}`;
const before = sri(readFileSync(file));
const source = renameWasmNames(readFileSync(file, 'utf8'));
const { code } = await minify(source, { module: true, compress: { passes: 2 }, mangle: true });
writeFileSync(file, code);
if (!html.includes(before)) throw new Error(`index.html does not pin ${glue[0]} by ${before}`);
html = html.replace(before, sri(code));
writeFileSync(page, html);
console.log(`minify-glue: ${glue[0]} ${source.length} -> ${code.length} bytes`);

/** Minifies the wasm's import/export/module names in place (keeping the stack-IR
 *  optimisation of Trunk's wasm-opt run) and returns `glue` renamed to match; the
 *  wasm's preload integrity in index.html is updated. */
function renameWasmNames(glue) {
  const wasmBefore = sri(readFileSync(wasmFile));
  const map = JSON.parse(
    execFileSync('wasm-opt', [wasmFile, '--shrink-level=1', '--generate-stack-ir', '--optimize-stack-ir',
      '--minify-imports-and-exports-and-modules', '-o', wasmFile], { encoding: 'utf8' }),
  );
  const once = (text, pattern, replacement, what) => {
    let n = 0;
    const out = text.replace(pattern, (...m) => { n += 1; return replacement(...m); });
    if (n !== 1) throw new Error(`minify-glue: ${what} found ${n} times in the glue, expected once`);
    return out;
  };
  const esc = (name) => name.replace(/[$.*+?^(){}|[\]\\/]/g, '\\$&');
  const modules = new Set();
  for (const [module, name, short] of map.imports) {
    modules.add(module);
    glue = once(glue, new RegExp(`(^\\s*)${esc(name)}(: function)`, 'm'), (_, a, b) => `${a}${JSON.stringify(short)}${b}`, `import ${name}`);
  }
  const renamed = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile)));
  const moduleNames = new Set(renamed.map((i) => i.module));
  if (modules.size !== 1 || moduleNames.size !== 1) throw new Error('minify-glue: expected one import module');
  glue = once(glue, new RegExp(`"${esc([...modules][0])}":`), () => `${JSON.stringify([...moduleNames][0])}:`, 'the import module');
  const exports = new Map(map.exports);
  glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (whole, name) => {
    if (!exports.has(name)) throw new Error(`minify-glue: the glue uses wasm.${name}, which the wasm does not export`);
    return `wasm[${JSON.stringify(exports.get(name))}]`;
  });
  if (!html.includes(wasmBefore)) throw new Error(`index.html does not pin the wasm by ${wasmBefore}`);
  html = html.replace(wasmBefore, sri(readFileSync(wasmFile)));
  return glue;
}
