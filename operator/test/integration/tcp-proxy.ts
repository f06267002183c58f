// A TCP proxy between the operator and the API server: the operator's own view of the network.
// It counts connection attempts (the only thing a client can do while the server is down), and
// can cut the operator off (a partition) while the API server is up for everyone else.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  /** Times (ms since the epoch) at which the client opened a connection. */
  readonly connections: number[] = [];
  private partitioned = false;
  private readonly open = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.accept(client, target));
    proxy = new TcpProxy(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    this.connections.push(Date.now());
    // An unreachable server resets the connection, as a load balancer without backends does.
    if (this.partitioned) return void client.resetAndDestroy();
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      this.open.add(s);
      s.on('close', () => this.open.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  /** Cuts every connection and refuses new ones until heal(). */
  partition(): void {
    this.partitioned = true;
    for (const s of this.open) s.resetAndDestroy();
  }

  heal(): void {
    this.partitioned = false;
  }

  /** Connection attempts within [from, to]. */
  attempts(from: number, to: number): number {
    return this.connections.filter((t) => t >= from && t <= to).length;
  }

  close(): Promise<void> {
    this.partition();
    return new Promise((r) => this.server.close(() => r()));
  }
}
