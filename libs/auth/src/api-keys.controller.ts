import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { API_KEY_ROLES, ApiKeyRecord } from './api-key.record';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { Roles } from './api-key.guard';
import { ApiKeyService } from './api-key.service';

const mintApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    role: z.enum(API_KEY_ROLES as [string, ...string[]]).default('member'),
    accountId: z.uuid().optional(),
    accountName: z.string().trim().min(1).max(200).optional(),
    rateLimitPerMinute: z.int().min(0).max(1_000_000).nullable().optional(),
  })
  .strict();
class MintApiKeyDto extends createZodDto(mintApiKeySchema) {}

/**
 * An API key as the API returns it (list, revoke; mint adds `key`): never
 * its secret or hash. The response body's schema in the OpenAPI document and
 * the type the presenter builds. Instants are RFC 3339 UTC strings.
 */
export const apiKeyResponseSchema = z.object({
  id: z.uuid(),
  prefix: z.string().describe('The public part of the key (`sk_<prefix>_...`), by which it is looked up'),
  name: z.string(),
  role: z.enum(API_KEY_ROLES as [ApiKeyRecord['role'], ...ApiKeyRecord['role'][]]),
  accountId: z.uuid(),
  rateLimitPerMinute: z.int().nullable().describe('Requests per minute for this key; null: the configured default'),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
const mintedApiKeySchema = apiKeyResponseSchema.extend({ key: z.string().describe('The whole key, secret included: shown only in this response') });
const apiKeyListSchema = z.object({ items: z.array(apiKeyResponseSchema) });
class ApiKeyDto extends createZodDto(apiKeyResponseSchema) {}
class MintedApiKeyDto extends createZodDto(mintedApiKeySchema) {}
class ApiKeyListDto extends createZodDto(apiKeyListSchema) {}

/** The API representation of a key: never its secret or hash. */
function present(entity: ApiKeyRecord): z.infer<typeof apiKeyResponseSchema> {
  return {
    id: entity.id,
    prefix: entity.prefix,
    name: entity.name,
    role: entity.role,
    accountId: entity.accountId,
    rateLimitPerMinute: entity.rateLimitPerMinute,
    createdAt: entity.createdAt.toISOString(),
    revokedAt: entity.revokedAt ? entity.revokedAt.toISOString() : null,
  };
}

/** `/api/v1/api-keys`: mint, list, revoke (admin only, docs/design.md section 3). */
@ApiTags('api-keys')
@ApiBearerAuth()
@ApiResponse({ status: 403, description: 'Only admin keys manage API keys' })
@Roles('admin')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post()
  @ApiOperation({ operationId: 'mintApiKey', summary: 'Mint an API key; the key is shown only in this response' })
  @ApiResponse({ status: 201, type: MintedApiKeyDto, description: 'The new key, with its secret `key`' })
  async mint(@Body() body: MintApiKeyDto) {
    const { key, entity } = await this.keys.mint(body as z.infer<typeof mintApiKeySchema> & { role: ApiKeyRecord['role'] });
    return { ...present(entity), key };
  }

  @Get()
  @ApiOperation({ operationId: 'listApiKeys', summary: 'List API keys' })
  @ApiResponse({ status: 200, type: ApiKeyListDto, description: 'Every API key, without secrets' })
  async list() {
    return { items: (await this.keys.list()).map(present) };
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ operationId: 'revokeApiKey', summary: 'Revoke an API key at once' })
  @ApiParam({ name: 'id', required: true, description: 'The API key id', schema: { type: 'string', format: 'uuid' } })
  @ApiResponse({ status: 200, type: ApiKeyDto, description: 'The revoked key' })
  @ApiResponse({ status: 404, description: 'No API key with this id' })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string) {
    return present(await this.keys.revoke(id));
  }
}
