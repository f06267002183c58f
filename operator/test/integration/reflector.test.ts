// The informer cache against the real API server: the label index the reconciler's prune step reads
// (kept right through creates, relabels, deletes and relists), compact cached objects, and the echo
// of our own writes (already cached) not reported as an event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { KubeHttp } from '../../src/kube/http.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { typeOf } from '../../src/kube/resources.js';
import { silentLogger } from '../../src/log.js';
import { ensureNamespace, eventually, kubectl, kubectlOk } from './kubectl.js';

const NS = ['it-reflector-a', 'it-reflector-b'];
const SELECTOR = 'meet.sovereign.io/it-reflector=yes';
const INSTANCE = 'app.kubernetes.io/instance';
const CM = typeOf('ConfigMap');

function configMap(ns: string, name: string, instance: string, data: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: { 'meet.sovereign.io/it-reflector': 'yes', [INSTANCE]: instance } }, data };
}
const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();

let http: KubeHttp;
let informer: Informer;
const events: { type: string; name: string; rv?: string }[] = [];

beforeAll(async () => {
  for (const ns of NS) ensureNamespace(ns);
  http = KubeHttp.fromKubeconfig(inject('kubeconfig'), 'meet-it-reflector');
  informer = new Informer({
    http,
    type: CM,
    namespaces: [],
    labelSelector: SELECTOR,
    log: silentLogger,
    onEvent: (type, obj) => events.push({ type, name: obj.metadata.name, rv: obj.metadata.resourceVersion }),
  });
  informer.start();
  await informer.synced;
});

afterAll(async () => {
  informer?.stop();
  http?.close();
  kubectl(['delete', 'namespace', ...NS, '--ignore-not-found', '--wait=false']);
});

describe('Informer cache', () => {
  it('finds one instance’s objects by namespace and label, through creates, relabels, deletes and relists', async () => {
    const apply = (o: object) => kubectlOk(['apply', '--server-side', '--field-manager=it', '-f', '-'], JSON.stringify(o));
    apply(configMap(NS[0]!, 'one', 'x'));
    apply(configMap(NS[0]!, 'two', 'x'));
    apply(configMap(NS[0]!, 'other', 'y'));
    apply(configMap(NS[1]!, 'one', 'x')); // same label value, another namespace
    const byLabel = (ns: string, v: string) => names(informer.listByLabel(ns, INSTANCE, v));
    await eventually('4 objects cached', () => (informer.size === 4 ? true : undefined), 30_000, 100);
    expect(byLabel(NS[0]!, 'x')).toEqual(['one', 'two']);
    expect(byLabel(NS[0]!, 'y')).toEqual(['other']);
    expect(byLabel(NS[1]!, 'x')).toEqual(['one']);
    expect(byLabel(NS[1]!, 'y')).toEqual([]);

    kubectlOk(['label', '-n', NS[0]!, 'configmap/two', `${INSTANCE}=y`, '--overwrite']);
    await eventually('relabel seen', () => (byLabel(NS[0]!, 'y').length === 2 ? true : undefined), 30_000, 100);
    expect(byLabel(NS[0]!, 'x')).toEqual(['one']);
    expect(byLabel(NS[0]!, 'y')).toEqual(['other', 'two']);

    kubectlOk(['delete', '-n', NS[0]!, 'configmap/other']);
    await eventually('delete seen', () => (byLabel(NS[0]!, 'y').length === 1 ? true : undefined), 30_000, 100);
    expect(byLabel(NS[0]!, 'y')).toEqual(['two']);

    // A relist replaces the cache wholesale: the index must follow, including what vanished.
    kubectlOk(['delete', '-n', NS[1]!, 'configmap/one']);
    informer.relist();
    await eventually('relist seen', () => (informer.size === 2 && byLabel(NS[1]!, 'x').length === 0 ? true : undefined), 30_000, 100);
    expect(byLabel(NS[0]!, 'x')).toEqual(['one']);
    expect(byLabel(NS[0]!, 'y')).toEqual(['two']);
    // The index answers exactly what a scan of the cache answers.
    for (const ns of NS) for (const v of ['x', 'y']) {
      expect(byLabel(ns, v)).toEqual(names(informer.list((o) => o.metadata.namespace === ns && o.metadata.labels?.[INSTANCE] === v)));
    }
  });

  it('caches compact objects: no managedFields, kind and apiVersion set, data intact', async () => {
    const data = { 'livekit.yaml': 'port: 7880\nrtc:\n  tcp_port: 7881\n', ministry: "Ministère de l'Intérieur" };
    kubectlOk(['apply', '--server-side', '--field-manager=it', '-f', '-'], JSON.stringify(configMap(NS[0]!, 'compact', 'z', data)));
    const cached = await eventually('cached', () => informer.get(NS[0], 'compact'), 30_000, 100);
    const live = JSON.parse(kubectlOk(['get', '-n', NS[0]!, 'configmap/compact', '-o', 'json', '--show-managed-fields']));
    expect(live.metadata.managedFields?.length).toBeGreaterThan(0);
    expect(cached.metadata.managedFields).toBeUndefined();
    const { managedFields: _, ...liveMeta } = live.metadata;
    expect(cached).toEqual({ ...live, metadata: liveMeta });
    expect(cached.apiVersion).toBe('v1');
    expect(cached.kind).toBe('ConfigMap');
    expect(cached.data).toEqual(data);
  });

  it('does not report the echo of a write whose result is already cached, and reports what others change', async () => {
    const path = `/api/v1/namespaces/${NS[0]}/configmaps/echo`;
    const write = async (i: number) => {
      const written = await http.request('PATCH', path, { query: { fieldManager: 'it', force: true }, contentType: 'application/apply-patch+yaml', body: configMap(NS[0]!, 'echo', 'e', { i: String(i) }) });
      informer.upsert(written);
      return written.metadata.resourceVersion as string;
    };
    const before = informer.stats.echoes;
    const handled = () => informer.stats.echoes - before + events.filter((e) => e.name === 'echo').length;
    const rvs: string[] = [];
    // Every version reaches the cache once: through upsert (and its echo is dropped) or, when the
    // watch was faster than the response, through the watch (and the upsert changes nothing). Write
    // until the response has won at least once (it usually does within a few writes).
    for (let i = 0; i < 30 && (i < 5 || informer.stats.echoes === before); i++) {
      rvs.push(await write(i));
      await eventually('the write seen by the watch', () => (handled() >= rvs.length ? true : undefined), 30_000, 20);
    }
    const reported = events.filter((e) => e.name === 'echo');
    console.log(`echo test: ${informer.stats.echoes - before} echoes dropped, ${reported.length} events reported for ${rvs.length} own writes`);
    expect(handled()).toBe(rvs.length);
    expect(informer.stats.echoes - before).toBeGreaterThan(0);
    expect(informer.get(NS[0], 'echo')?.metadata.resourceVersion).toBe(rvs.at(-1));

    kubectlOk(['label', '-n', NS[0]!, 'configmap/echo', 'changed-by=someone-else']);
    const seen = await eventually('a change by someone else reported', () => events.find((e) => e.name === 'echo' && !rvs.includes(e.rv!)), 30_000, 100);
    expect(seen.type).toBe('MODIFIED');
    expect(informer.get(NS[0], 'echo')?.metadata.labels?.['changed-by']).toBe('someone-else');
  });
});
