import type { Pool } from 'pg';
import { DataSource } from 'typeorm';

/**
 * Thrown by {@link PgPools} before the DataSource has connected (see
 * DatabaseConnector). Carries SQLSTATE `08001`
 * (sqlclient_unable_to_establish_sqlconnection), so it is answered like any
 * other connection failure: 503 `dependency-unavailable`.
 */
export class DatabaseNotConnectedError extends Error {
  readonly code = '08001';

  constructor() {
    super('PostgreSQL is not connected yet');
    this.name = 'DatabaseNotConnectedError';
  }
}

/**
 * The pg pools behind a TypeORM DataSource, for the redirect's few hot
 * queries: a plain parameterised `pool.query` skips TypeORM's per-query
 * QueryRunner. `read` picks a replica when replication is configured
 * (redirect misses), `write` is always the primary. The pools are read from
 * the driver at each call: they exist only once the DataSource connected.
 *
 * @throws DatabaseNotConnectedError from `write` and `read` before that.
 */
export class PgPools {
  private next = 0;

  constructor(private readonly dataSource: DataSource) {}

  get write(): Pool {
    const primary = this.driver.master;
    if (!primary) throw new DatabaseNotConnectedError();
    return primary;
  }

  get read(): Pool {
    const replicas = this.driver.slaves ?? [];
    if (replicas.length === 0) return this.write;
    this.next = (this.next + 1) % replicas.length;
    return replicas[this.next];
  }

  private get driver(): { master?: Pool; slaves?: Pool[] } {
    return this.dataSource.driver as unknown as { master?: Pool; slaves?: Pool[] };
  }
}
