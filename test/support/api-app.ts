import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '@shortener/config';
import { DatabaseConnector } from '@shortener/database';
import { InvalidationBus } from '@shortener/redis';
import request from 'supertest';
import { createApiApp } from '../../apps/api/src/api.app';
import { TEST_ADMIN_KEY, testConfig } from './test-env';

/** A booted API app for supertest, on this Jest worker's database and Redis prefix. */
export interface TestApi {
  app: NestFastifyApplication;
  config: AppConfig;
  /** supertest agent bound to the app's HTTP server. */
  http: () => request.Agent;
  /** `Authorization` header value of the bootstrapped admin key. */
  adminAuth: string;
  close: () => Promise<void>;
}

/**
 * Boots the real API (Nest + Fastify, real PostgreSQL and Redis) with
 * environment overrides; resolves once it is connected to PostgreSQL with
 * its startup work done (the admin key exists) and subscribed to the bus.
 */
export async function startTestApi(overrides: Record<string, string> = {}): Promise<TestApi> {
  const config = testConfig('api', overrides);
  const app = await createApiApp(config);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  await Promise.all([app.get(DatabaseConnector).ready(), app.get(InvalidationBus).subscribed]);
  return {
    app,
    config,
    http: () => request.agent(app.getHttpServer()),
    adminAuth: `Bearer ${TEST_ADMIN_KEY}`,
    close: () => app.close(),
  };
}

let counter = 0;
/** A unique alias for this worker and test run, so tests never collide on shared state. */
export function uniqueAlias(label = 'a'): string {
  counter += 1;
  return `${label}-${process.env.JEST_WORKER_ID ?? '1'}-${Date.now().toString(36)}-${counter}`;
}
