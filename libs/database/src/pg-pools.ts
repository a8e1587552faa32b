import type { Pool } from 'pg';
import { DataSource } from 'typeorm';

/**
 * The pg pools behind a TypeORM DataSource, for the redirect's few hot
 * queries: a plain parameterised `pool.query` skips TypeORM's per-query
 * QueryRunner. `read` picks a replica when replication is configured
 * (redirect misses), `write` is always the primary.
 */
export class PgPools {
  private readonly primary: Pool;
  private readonly replicas: Pool[];
  private next = 0;

  constructor(dataSource: DataSource) {
    const driver = dataSource.driver as unknown as { master: Pool; slaves: Pool[] };
    this.primary = driver.master;
    this.replicas = driver.slaves ?? [];
  }

  get write(): Pool {
    return this.primary;
  }

  get read(): Pool {
    if (this.replicas.length === 0) return this.primary;
    this.next = (this.next + 1) % this.replicas.length;
    return this.replicas[this.next];
  }
}
