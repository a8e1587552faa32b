import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '@shortener/config';
import { WorkerModule } from './worker.module';

/**
 * Builds and initialises the worker: a Nest application context (no HTTP
 * server) whose BullMQ workers are running when this resolves. Used by
 * `main.ts` and by the tests that boot the worker in-process.
 *
 * @throws JobWiringError when a job has no handler or two; the dependency's
 *   error when PostgreSQL is unreachable.
 */
export async function createWorkerApp(config: AppConfig): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: config.logLevel === 'silent' ? false : ['error', 'warn', 'log'],
    abortOnError: false,
    // Held until main.ts hands Nest the JSON (pino) logger, so boot lines are JSON too.
    bufferLogs: true,
  });
}
