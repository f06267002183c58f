// Imports run one way, so a reader can start at the bottom and never meet a module that needs one
// above it. The layers, lowest first (operator/src/README.md draws them):
//   log, cloud -> api -> kube -> credentials -> render -> audit -> scaling -> controller -> check -> cli
// A module may import its own layer and any layer below; no two modules import each other, directly
// or through others (no circle, even of type-only imports: a circle of types is a circle to read).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');
const LAYERS = ['log', 'cloud', 'api', 'kube', 'credentials', 'render', 'audit', 'scaling', 'controller', 'check', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

/** Module (path under src, without .ts) -> the modules of src it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/gms)].map((m) =>
      relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, ''),
    );
    graph.set(relative(SRC, file).replace(/\.ts$/, ''), targets);
  }
  return graph;
}

const layerOf = (module: string) => LAYERS.indexOf(module.split('/')[0]!.replace(/\.ts$/, ''));

/** Every circle of imports, each as the path that closes it. */
function circles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string) => {
    state.set(m, 'open');
    stack.push(m);
    for (const t of graph.get(m) ?? []) {
      if (state.get(t) === 'open') found.push([...stack.slice(stack.indexOf(t)), t]);
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(m, 'done');
  };
  for (const m of [...graph.keys()].sort()) if (!state.has(m)) visit(m);
  return found;
}

describe('operator/src layering', () => {
  const graph = importGraph();

  it('finds the modules and their imports (the test can see what it checks)', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('controller/reconciler')).toContain('api/validated');
    for (const m of graph.keys()) expect(layerOf(m), `${m} is in no layer of ${LAYERS.join(', ')}`).toBeGreaterThanOrEqual(0);
  });

  it('no import runs upward', () => {
    const upward = [...graph].flatMap(([m, targets]) => targets.filter((t) => layerOf(t) > layerOf(m)).map((t) => `${m} -> ${t}`));
    expect(upward).toEqual([]);
  });

  it('no circle of imports', () => {
    expect(circles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('would see an upward import and a circle (the checks can fail)', () => {
    const bad = new Map([['api/a', ['render/b']], ['render/b', ['api/a']]]);
    expect([...bad].filter(([m, ts]) => ts.some((t) => layerOf(t) > layerOf(m)))).toHaveLength(1);
    expect(circles(bad)).toEqual([['api/a', 'render/b', 'api/a']]);
  });
});
