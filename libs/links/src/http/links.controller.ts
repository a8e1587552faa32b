import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal, Roles } from '@shortener/auth';
import { PROBLEM_CONTENT_TYPE } from '@shortener/common';
import type { FastifyReply } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { LinkService } from '../application/link.service';
import { createLinkSchema, linkAddressSchema, listLinksSchema, updateLinkSchema } from '../application/link.schemas';

class CreateLinkDto extends createZodDto(createLinkSchema) {}
class UpdateLinkDto extends createZodDto(updateLinkSchema) {}
class ListLinksQuery extends createZodDto(listLinksSchema) {}
class LinkAddressQuery extends createZodDto(linkAddressSchema) {}

/** `/api/v1/links` (DESIGN.md section 3). */
@ApiTags('links')
@ApiBearerAuth()
@Controller('api/v1/links')
export class LinksController {
  constructor(private readonly links: LinkService) {}

  @Post()
  @Roles('admin', 'member')
  @ApiOperation({ summary: 'Create a short link' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays the first response for 24 h' })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: CreateLinkDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.links.create(principal, body as never, idempotencyKey);
    void reply.status(result.status);
    if (result.replayed) void reply.header('idempotent-replayed', 'true');
    if (result.status >= 400) void reply.header('content-type', PROBLEM_CONTENT_TYPE);
    else void reply.header('location', `/api/v1/links/${encodeURIComponent((result.body as { code: string }).code)}`);
    return result.body;
  }

  @Get()
  @ApiOperation({ summary: 'List links, newest first (keyset pagination)' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListLinksQuery) {
    return this.links.list(principal, query as never);
  }

  @Get(':code')
  @ApiOperation({ summary: 'Read a link' })
  get(@CurrentPrincipal() principal: Principal, @Param('code') code: string, @Query() q: LinkAddressQuery) {
    return this.links.get(principal, code, q.domain);
  }

  @Patch(':code')
  @Roles('admin', 'member')
  @ApiOperation({ summary: 'Change a link (JSON Merge Patch, RFC 7396)' })
  update(@CurrentPrincipal() principal: Principal, @Param('code') code: string, @Body() body: UpdateLinkDto, @Query() q: LinkAddressQuery) {
    return this.links.update(principal, code, body as never, q.domain);
  }

  @Delete(':code')
  @HttpCode(204)
  @Roles('admin', 'member')
  @ApiOperation({ summary: 'Delete a link: it answers 410 and its code stays reserved' })
  async delete(@CurrentPrincipal() principal: Principal, @Param('code') code: string, @Query() q: LinkAddressQuery): Promise<void> {
    await this.links.delete(principal, code, q.domain);
  }
}
