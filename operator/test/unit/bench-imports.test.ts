// The benchmarks import the compiled operator (dist/) by path, which the type checker does not see:
// a module moved or an export renamed would only show when someone runs `make bench-reconcile`.
// Every such import must name a source module that exists and exports what the bench takes from it.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const IMPORT = /const \{([^}]+)\} = await import\(`\$\{root\}dist\/([^`]+)\.js`\)/g;

const benches = readdirSync('bench').filter((f) => f.endsWith('.mjs'));
const imports = benches.flatMap((file) =>
  [...readFileSync(`bench/${file}`, 'utf8').matchAll(IMPORT)].map((m) => ({ file, module: m[2]!, names: m[1]!.split(',').map((n) => n.trim()).filter(Boolean) })),
);

describe('bench/ imports of dist/', () => {
  it('are found in every benchmark that takes the operator from dist/', () => {
    expect(imports.length).toBeGreaterThan(5);
    expect(new Set(imports.map((i) => i.file))).toEqual(new Set(['reconcile.mjs', 'render.mjs', 'scaling.mjs', 'stt.mjs']));
  });

  it.each(imports.map((i) => [`${i.file}: dist/${i.module}.js { ${i.names.join(', ')} }`, i] as const))('%s exists and exports those names', (_, i) => {
    const source = `operator/src/${i.module}.ts`;
    expect(existsSync(source), `${source} (moved or renamed?)`).toBe(true);
    const text = readFileSync(source, 'utf8');
    for (const name of i.names) expect(text, `${source} exports ${name}`).toMatch(new RegExp(`export (async )?(function|const|class|let) ${name}\\b|export \\{[^}]*\\b${name}\\b`));
  });
});
