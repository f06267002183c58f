// The chart's Grafana dashboards, checked without Grafana: the chart ships them unchanged, every
// query is valid PromQL (promtool checks it as a recording rule) and reads only series the operator
// or livekit-server export. A real Prometheus answers each of them in the node suite
// (operator/test/node/prometheus.test.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { OperatorMetrics } from '../../src/controller/metrics.js';
import { LIVEKIT_METRICS } from '../../src/scaling/metric-names.js';
import { dashboards, DASHBOARDS_DIR, metricNames, panelQueries } from '../monitoring.js';
import { findAll, renderChart } from './chart-helpers.js';

const PROMTOOL = `${execFileSync('bash', ['hack/build-prometheus.sh', '--print-dir'], { encoding: 'utf8' }).trim()}/promtool`;
const dir = mkdtempSync(join(tmpdir(), 'meet-dashboards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const queries = panelQueries({ namespace: 'interieur', name: 'visio', rateInterval: '1m' });

describe('the chart\'s Grafana dashboards', () => {
  it('ships each dashboard as a ConfigMap for Grafana\'s sidecar, unchanged', () => {
    const maps = findAll(renderChart({ dashboards: { enabled: true, annotations: { grafana_folder: 'LiveKit' } } }), 'ConfigMap');
    expect(maps.map((m) => m.metadata.name).sort()).toEqual(dashboards().map((d) => `mo-meet-operator-dashboard-${d.file.replace('.json', '')}`));
    for (const m of maps) {
      expect(m.metadata.labels?.grafana_dashboard).toBe('1');
      expect((m.metadata as { annotations?: object }).annotations).toEqual({ grafana_folder: 'LiveKit' });
      const [file, text] = Object.entries(m.data as Record<string, string>)[0]!;
      expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')));
    }
    expect(findAll(renderChart({}), 'ConfigMap')).toEqual([]);
  });

  it('each dashboard has a unique uid, a Prometheus datasource variable, and panels that use it', () => {
    const uids = dashboards().map((d) => d.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { json } of dashboards()) {
      expect(json.templating.list.find((v: any) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
      for (const p of json.panels) {
        expect(p.datasource, `${json.uid} / ${p.title}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.targets.length, `${json.uid} / ${p.title}`).toBeGreaterThan(0);
      }
    }
  });

  it('every query is valid PromQL (promtool, as recording rules)', () => {
    const file = join(dir, 'queries.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard-queries', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr })) }] }, { lineWidth: 0 }));
    const r = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
    // And promtool does refuse a broken one: the check can fail.
    writeFileSync(file, stringify({ groups: [{ name: 'broken', rules: [{ record: 'dashboard:broken', expr: 'sum by (pod (livekit_room_total)' }] }] }));
    expect(spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' }).status).not.toBe(0);
  });

  it('every query reads only series that are exported: the operator\'s, livekit-server\'s, or the alerts\'', async () => {
    const m = new OperatorMetrics();
    const exported = new Set([...(await m.registry.getMetricsAsJSON()).map((x) => x.name), ...Object.values(LIVEKIT_METRICS), 'ALERTS']);
    const known = (n: string) => exported.has(n) || exported.has(n.replace(/_(bucket|sum|count)$/, ''));
    for (const q of queries) {
      const names = metricNames(q.expr);
      expect(names.length, `${q.dashboard} / ${q.panel}: ${q.expr}`).toBeGreaterThan(0);
      for (const n of names) expect(known(n), `${q.dashboard} / ${q.panel}: ${n} is exported by nothing`).toBe(true);
    }
  });
});
