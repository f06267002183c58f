// Prints the closing line of a `make test` run, summed over the vitest JSON reports of every suite:
// "N passed, N failed, N skipped". Exits 1 when a suite ran no test at all.
import { readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0;
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  if (r.numTotalTests === 0) {
    console.error(`${file}: the suite ran no test`);
    process.exitCode = 1;
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed) process.exitCode = 1;
