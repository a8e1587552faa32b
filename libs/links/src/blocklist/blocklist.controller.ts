import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal, Roles } from '@shortener/auth';
import type { FastifyReply } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { text } from '../application/input.schemas';
import { BlocklistService, blocklistEntrySchema } from './blocklist.service';

const addBlockedHostSchema = z
  .object({
    host: text().min(1).max(300).describe('A host name or IP address; blocks it and its subdomains (`*.` prefix optional)'),
    reason: text().trim().min(1).max(500).optional().describe('Why, for the next admin'),
  })
  .strict();
class AddBlockedHostDto extends createZodDto(addBlockedHostSchema) {}
class BlocklistEntryDto extends createZodDto(blocklistEntrySchema) {}
class BlocklistDto extends createZodDto(z.object({ items: z.array(blocklistEntrySchema) })) {}

/**
 * `/api/v1/blocklist` (admin only): the hosts whose links are refused at
 * create and PATCH and answer 410 at the redirect, on every process.
 */
@ApiTags('blocklist')
@ApiBearerAuth()
@ApiResponse({ status: 403, description: 'Only admin keys manage the blocklist' })
@Roles('admin')
@Controller('api/v1/blocklist')
export class BlocklistController {
  constructor(private readonly blocklist: BlocklistService) {}

  @Get()
  @ApiOperation({ operationId: 'listBlockedHosts', summary: 'List blocked hosts: configured (BLOCKED_HOSTS) and added through this API' })
  @ApiResponse({ status: 200, type: BlocklistDto, description: 'Every blocked host with its source; configured ones first' })
  async list() {
    return { items: await this.blocklist.list() };
  }

  @Post()
  @ApiOperation({ operationId: 'addBlockedHost', summary: 'Block a host and its subdomains on every process, existing links included (410)' })
  @ApiResponse({ status: 201, type: BlocklistEntryDto, description: 'The new entry, with the host in canonical form (lower case, IDNA A-labels)' })
  @ApiResponse({ status: 200, type: BlocklistEntryDto, description: 'The host was already blocked through this API: the existing entry, unchanged' })
  async add(@CurrentPrincipal() principal: Principal, @Body() body: AddBlockedHostDto, @Res({ passthrough: true }) reply: FastifyReply) {
    const input = body;
    const { entry, created } = await this.blocklist.add(principal, input.host, input.reason ?? null);
    void reply.status(created ? 201 : 200);
    return entry;
  }

  @Delete(':host')
  @HttpCode(204)
  @ApiOperation({ operationId: 'removeBlockedHost', summary: 'Unblock a host added through this API, on every process' })
  @ApiParam({ name: 'host', required: true, description: 'The blocked host (any case or IDNA form)', schema: { type: 'string' } })
  @ApiResponse({ status: 204, description: 'Unblocked' })
  @ApiResponse({ status: 404, description: 'The host is not on the blocklist' })
  @ApiResponse({ status: 409, description: 'The host is blocked by configuration (BLOCKED_HOSTS), not through this API' })
  async remove(@Param('host') host: string): Promise<void> {
    await this.blocklist.remove(host);
  }
}
