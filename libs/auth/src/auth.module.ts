import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DatabaseModule } from '@shortener/database';
import { RedisModule } from '@shortener/redis';
import { SecurityModule } from '@shortener/security';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyService } from './api-key.service';
import { ApiKeysController } from './api-keys.controller';

/**
 * API key authentication for every Nest route of the public API (the
 * `onRequest` hook of `installApiKeyAuthentication` checks keys and the
 * failed-authentication limit of {@link SecurityModule}; the guard checks
 * roles), and key management.
 */
@Module({
  imports: [DatabaseModule, RedisModule, SecurityModule],
  controllers: [ApiKeysController],
  providers: [ApiKeyService, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeyService],
})
export class AuthModule {}
