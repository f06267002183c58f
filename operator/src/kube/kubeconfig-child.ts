// Runs as a short-lived child process (see credentials.ts): @kubernetes/client-node resolves the
// kubeconfig (files, KUBECONFIG, in-cluster service account, exec plugins, auth providers) and this
// prints the result as one JSON line. Importing client-node costs the importing process ~80 MB of
// RSS for its generated API; that cost ends with this process instead of living in the operator.
// Runs as plain JavaScript or, under vitest, as TypeScript with Node's type stripping: erasable
// syntax only, and no relative import but for types.
import { KubeConfig } from '@kubernetes/client-node';
import type { MaterialFiles, Resolved } from './credentials.js';

const b64 = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : Buffer.from(v as string | Buffer).toString('base64'));

async function resolve(file: string | undefined): Promise<Resolved> {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const opts: Record<string, any> = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const user = kc.getCurrentUser() as { authProvider?: { config?: { tokenFile?: string } }; certFile?: string; keyFile?: string; exec?: unknown } | null;
  // An exec plugin's credential says when it expires; client-node keeps it cached until then.
  let expiresAt: number | undefined;
  for (const a of (kc as unknown as { authenticators?: { tokenCache?: Record<string, any> }[] }).authenticators ?? []) {
    for (const c of Object.values(a.tokenCache ?? {})) {
      const t = Date.parse(c?.status?.expirationTimestamp ?? '');
      if (Number.isFinite(t)) expiresAt = Math.min(expiresAt ?? t, t);
    }
  }
  // In-cluster the service-account token rotates; CA and client certificates may too: the parent
  // re-reads these files itself. (An exec plugin's certificate is not a file's.)
  const files: MaterialFiles = {
    token: user?.authProvider?.config?.tokenFile,
    ca: cluster.caFile || undefined,
    ...(user?.exec ? {} : { cert: user?.certFile || undefined, key: user?.keyFile || undefined }),
  };
  return {
    server: cluster.server,
    ca: b64(opts.ca),
    cert: b64(opts.cert),
    key: b64(opts.key),
    headers: { ...opts.headers },
    auth: opts.auth,
    rejectUnauthorized: opts.rejectUnauthorized,
    servername: opts.servername,
    files,
    expiresAt,
  };
}

try {
  process.stdout.write(`${JSON.stringify(await resolve(process.argv[2] || undefined))}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}
