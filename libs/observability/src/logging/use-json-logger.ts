import type { INestApplicationContext } from '@nestjs/common';
import { Logger as NestPinoLogger } from 'nestjs-pino';

/**
 * Makes Nest log through the process's root pino logger (nestjs-pino): JSON
 * lines at `LOG_LEVEL`, secrets redacted. Logs Nest buffered before this call
 * (`bufferLogs: true`) are written then.
 */
export function useJsonLogger(app: INestApplicationContext): void {
  app.useLogger(app.get(NestPinoLogger));
}
