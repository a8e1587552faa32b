import { RequestDeadline, currentDeadline } from '@shortener/common';
import pg from 'pg';
import type { PoolClient, QueryConfig } from 'pg';

type Callback = (error: Error | undefined, client?: PoolClient, release?: (error?: Error | boolean) => void) => void;
type QueryFn = (...args: unknown[]) => unknown;

interface ProtocolConnection {
  on(event: 'error' | 'connect', listener: () => void): void;
  connect(portOrPath: number | string, host?: string): void;
  cancel(processId: number, secretKey: number): void;
  end(): void;
}

/** Statements a connection still runs once its request's deadline has passed: the ones that end a transaction without committing it. */
const ENDS_WITHOUT_COMMIT = /^\s*ROLLBACK\b/i;

/**
 * Sends PostgreSQL's CancelRequest for the statement `client` is running,
 * on a connection of its own (protocol section 55.2.8, what node-postgres'
 * `Client#cancel` does): no pool slot is taken, and a connection that runs
 * nothing ignores it.
 */
function cancelRunningStatement(client: PoolClient): void {
  const target = client as unknown as { processID: number | null; secretKey: number | null; connectionParameters: { host: string; port: number } };
  if (target.processID === null || target.secretKey === null) return;
  const { host, port } = target.connectionParameters;
  // @types/pg leaves out the protocol calls node-postgres' own Client#cancel makes.
  const connection = new pg.Connection() as unknown as ProtocolConnection;
  connection.on('error', () => {
    connection.end();
  });
  connection.on('connect', () => {
    connection.cancel(target.processID!, target.secretKey!);
  });
  if (host.startsWith('/')) connection.connect(`${host}/.s.PGSQL.${port}`);
  else connection.connect(port, host);
}

/**
 * Makes one checkout of `client` share `deadline`: once it has passed, the
 * running statement is cancelled and any later statement but a `ROLLBACK`
 * is refused with the deadline's error, so a transaction cannot commit.
 * @returns the release function that ends the checkout (and the watch).
 */
function watchCheckout(client: PoolClient, deadline: RequestDeadline, release: (error?: Error | boolean) => void): (error?: Error | boolean) => void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the original method, applied with its `this` by the wrapper below
  const query = client.query as unknown as QueryFn;
  let running = 0;
  const onExpired = () => {
    if (running > 0) cancelRunningStatement(client);
  };
  deadline.signal.addEventListener('abort', onExpired, { once: true });
  const guarded: QueryFn = function (this: PoolClient, ...args: unknown[]) {
    const first = args[0] as string | QueryConfig | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const last = args[args.length - 1];
    if (deadline.expired && !ENDS_WITHOUT_COMMIT.test(text)) {
      const error = deadline.signal.reason as Error;
      if (typeof last === 'function') {
        process.nextTick(last, error);
        return undefined;
      }
      return Promise.reject(error);
    }
    running += 1;
    if (typeof last === 'function') {
      args[args.length - 1] = (error: unknown, result: unknown) => {
        running -= 1;
        (last as (e: unknown, r: unknown) => void)(error, result);
      };
      return query.apply(this, args);
    }
    const result = query.apply(this, args);
    if (result instanceof Promise)
      result.then(
        () => (running -= 1),
        () => (running -= 1),
      );
    else running -= 1;
    return result;
  };
  (client as unknown as { query: QueryFn }).query = guarded;
  let ended = false;
  const end = (error?: Error | boolean) => {
    if (!ended) {
      ended = true;
      deadline.signal.removeEventListener('abort', onExpired);
      // Back to the prototype's query: the next checkout may belong to no request.
      delete (client as unknown as { query?: QueryFn }).query;
    }
    release(error);
  };
  (client as unknown as { release: typeof end }).release = end;
  return end;
}

/**
 * A node-postgres pool whose checkouts share the deadline of the request
 * they are made for ({@link currentDeadline}, set by the HTTP layer's
 * `installRequestDeadline`): a pool wait is abandoned when the deadline
 * passes (the connection, once it comes, goes straight back), a statement
 * running then is cancelled, and later statements but `ROLLBACK` are
 * refused. Checkouts made outside a request (the worker, batches shared by
 * several requests) behave as plain `pg.Pool` ones. A connection the server
 * ends while it is checked out never ends the process.
 */
export class DeadlinePool extends pg.Pool {
  constructor(config?: pg.PoolConfig) {
    super(config);
    // A connection the server ends while it is checked out (a restart, a failover, pg_terminate_backend)
    // emits 'error' on its client, which pg-pool listens to only while the client is idle: without a
    // listener of its own, that error ends the process. The statement running then fails with it anyway,
    // and the pool drops the client when it is released.
    this.on('connect', (client) => client.on('error', () => undefined));
  }

  override connect(): Promise<PoolClient>;
  override connect(callback: Callback): void;
  override connect(callback?: Callback): Promise<PoolClient> | void {
    const deadline = currentDeadline();
    if (!deadline) {
      if (!callback) return super.connect();
      super.connect(callback as never);
      return;
    }
    if (!callback) {
      return new Promise<PoolClient>((resolve, reject) => {
        this.connect((error, client) => {
          if (error) reject(error);
          else resolve(client!);
        });
      });
    }
    if (deadline.expired) {
      process.nextTick(callback, deadline.signal.reason as Error);
      return;
    }
    let abandoned = false;
    const onExpired = () => {
      abandoned = true;
      callback(deadline.signal.reason as Error);
    };
    deadline.signal.addEventListener('abort', onExpired, { once: true });
    super.connect(((error: Error | undefined, client: PoolClient | undefined, release: (e?: Error | boolean) => void) => {
      deadline.signal.removeEventListener('abort', onExpired);
      if (abandoned) {
        if (!error) release();
        return;
      }
      if (error) {
        callback(error);
        return;
      }
      callback(undefined, client, watchCheckout(client!, deadline, release));
    }) as never);
  }
}

/**
 * The `pg` module as TypeORM's `driver` option wants it, with
 * {@link DeadlinePool} as its `Pool`: everything else is `pg` itself.
 */
export const DEADLINE_PG_DRIVER = Object.create(pg, { Pool: { value: DeadlinePool } }) as typeof pg;
