// The chart's monitoring pack as the tests read it: its alert rules, and every Grafana dashboard panel
// query with the dashboard's variables set the way Grafana would set them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const DASHBOARDS_DIR = 'charts/meet-operator/dashboards';
export const RULES_FILE = 'charts/meet-operator/rules/meet-operator.rules.yaml';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

export const dashboards = (): { file: string; json: any }[] =>
  readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) }));

/** Every panel's queries, with $namespace, $name and Grafana's $__rate_interval replaced. */
export function panelQueries(vars: { namespace: string; name: string; rateInterval: string }): PanelQuery[] {
  return dashboards().flatMap(({ json }) =>
    json.panels.flatMap((p: any) =>
      p.targets.map((t: any) => ({
        dashboard: json.uid,
        panel: p.title,
        expr: String(t.expr).replaceAll('$__rate_interval', vars.rateInterval).replaceAll('$namespace', vars.namespace).replaceAll('$name', vars.name),
      })),
    ),
  );
}

/** The alert rules of the chart. */
export const alertRules = (): any[] => parse(readFileSync(RULES_FILE, 'utf8')).groups.flatMap((g: any) => g.rules);

/** Metric names a PromQL expression reads (meet_*, livekit_*, ALERTS). */
export const metricNames = (expr: string): string[] => [...new Set([...expr.matchAll(/\b((?:meet|livekit)_[a-z_]+|ALERTS)\b/g)].map((m) => m[1]!))];
