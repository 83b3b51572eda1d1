// Runs every *.test.mjs here with node's test runner (one file at a time: each
// starts its own proxy and browser), prints the spec report, and ends with the
// line `N passed, M failed`. Exits non-zero when anything failed.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.mjs') && (only.length === 0 || only.some((o) => f.includes(o))))
  .map((f) => join(dir, f));

let passed = 0;
let failed = 0;
const stream = run({ files, concurrency: 1, timeout: 180_000 });
stream.on('test:pass', (t) => { if (t.details?.type !== 'suite') passed += 1; });
stream.on('test:fail', (t) => { if (t.details?.type !== 'suite') failed += 1; });
const report = stream.compose(spec);
report.pipe(process.stdout, { end: false });
report.on('end', () => {
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
});
