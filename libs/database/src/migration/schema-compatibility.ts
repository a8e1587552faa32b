import { QueryRunner } from 'typeorm';

/**
 * Expand/contract over two releases (docs/design.md section 8): every migration
 * records the schema `version` it produces and the oldest code schema version
 * (`minCodeVersion`) that still works with it. The code knows the newest
 * version it was written for and the oldest schema it still works with; the
 * readiness probe fails outside that range.
 */
export const CODE_SCHEMA_VERSION = 4;
/** The oldest schema version this code works with (4: it writes `idempotency_keys.response_text`). */
export const OLDEST_COMPATIBLE_SCHEMA_VERSION = 4;

/** The compatibility row as stored by the newest applied migration. */
export interface SchemaCompatibility {
  version: number;
  minCodeVersion: number;
}

/** Called at the end of a migration's `up` to record the schema it leaves. */
export async function setSchemaCompatibility(q: QueryRunner, c: SchemaCompatibility): Promise<void> {
  await q.query(
    `INSERT INTO schema_compatibility (singleton, version, min_code_version) VALUES (true, $1, $2)
     ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, min_code_version = EXCLUDED.min_code_version`,
    [c.version, c.minCodeVersion],
  );
}

/**
 * Whether this code can serve on the given schema.
 * @returns `null` when compatible, else the reason (shown in the readiness body).
 */
export function schemaIncompatibility(
  schema: SchemaCompatibility | null,
  code = { version: CODE_SCHEMA_VERSION, oldestCompatible: OLDEST_COMPATIBLE_SCHEMA_VERSION },
): string | null {
  if (!schema) return 'the database has no schema: run the migrations';
  if (schema.version < code.oldestCompatible) {
    return `schema version ${schema.version} is older than ${code.oldestCompatible}, the oldest this code supports: run the migrations`;
  }
  if (schema.minCodeVersion > code.version) {
    return `schema version ${schema.version} needs code of schema version ${schema.minCodeVersion} or newer; this code knows ${code.version}`;
  }
  return null;
}

/** Reads the compatibility row, or null when the table does not exist yet. */
export async function readSchemaCompatibility(query: (sql: string) => Promise<any[]>): Promise<SchemaCompatibility | null> {
  const rows = await query(`SELECT version, min_code_version FROM schema_compatibility`).catch((e: unknown) => {
    if (typeof e === 'object' && e !== null && 'code' in e && e.code === '42P01') return [];
    throw e;
  });
  return rows.length ? { version: Number(rows[0].version), minCodeVersion: Number(rows[0].min_code_version) } : null;
}
