import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiConsumes, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags, type SchemaObject } from '@nestjs/swagger';
import { CurrentPrincipal, Principal, Roles } from '@shortener/auth';
import { PROBLEM_CONTENT_TYPE, PROBLEM_SCHEMA_REF } from '@shortener/http';
import { BULK_BODY_ROUTE_CONFIG } from '@shortener/security';
import type { FastifyReply } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { LinkService } from '../application/link.service';
import {
  bulkCreateLinksSchema,
  createLinkSchema,
  linkAddressSchema,
  linkPageSchema,
  linkResponseSchema,
  listLinksSchema,
  qrCodeSchema,
  updateLinkSchema,
} from '../application/link.schemas';
import { renderQrCode } from '../application/qr-code';

class CreateLinkDto extends createZodDto(createLinkSchema) {}
class UpdateLinkDto extends createZodDto(updateLinkSchema) {}
class ListLinksQuery extends createZodDto(listLinksSchema) {}
class LinkAddressQuery extends createZodDto(linkAddressSchema) {}
class BulkCreateLinksDto extends createZodDto(bulkCreateLinksSchema) {}
class QrCodeQuery extends createZodDto(qrCodeSchema) {}
class LinkDto extends createZodDto(linkResponseSchema) {}
class LinkPageDto extends createZodDto(linkPageSchema) {}

// One result per item: a created link, or the problem that refused the item.
// Written out because it refers to the document's LinkDto and Problem schemas.
const BULK_RESULTS_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['results'],
  properties: {
    results: {
      type: 'array',
      items: {
        oneOf: [
          {
            type: 'object',
            required: ['status', 'link'],
            properties: { status: { type: 'integer', enum: [201] }, link: { $ref: '#/components/schemas/LinkDto' } },
            additionalProperties: false,
          },
          {
            type: 'object',
            required: ['status', 'problem'],
            properties: { status: { type: 'integer', minimum: 400, maximum: 599 }, problem: { $ref: PROBLEM_SCHEMA_REF } },
            additionalProperties: false,
          },
        ],
      },
    },
  },
  additionalProperties: false,
};

/** `/api/v1/links` (docs/design.md section 3). */
@ApiTags('links')
@ApiBearerAuth()
@Controller('api/v1/links')
export class LinksController {
  constructor(private readonly links: LinkService) {}

  @Post()
  @Roles('admin', 'member')
  @ApiOperation({ operationId: 'createLink', summary: 'Create a short link' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays the first response for 24 h' })
  @ApiResponse({
    status: 201,
    type: LinkDto,
    description: 'The link with its shortUrl; a replay answers the first response with `Idempotent-Replayed: true`',
    headers: { Location: { description: 'The URL of the new link in this API', schema: { type: 'string' } } },
  })
  @ApiResponse({ status: 403, description: 'The key is read-only' })
  @ApiResponse({ status: 409, description: 'The alias is taken, or a request with this Idempotency-Key is still in progress' })
  @ApiResponse({ status: 422, description: 'This Idempotency-Key was used with a different request' })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: CreateLinkDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.links.create(principal, body, idempotencyKey);
    void reply.status(result.status);
    if (result.replayed) void reply.header('idempotent-replayed', 'true');
    if (result.status >= 400) void reply.header('content-type', PROBLEM_CONTENT_TYPE);
    else void reply.header('location', `/api/v1/links/${encodeURIComponent((result.body as { code: string }).code)}`);
    return result.body;
  }

  @Post('bulk')
  @RouteConfig(BULK_BODY_ROUTE_CONFIG)
  @HttpCode(200)
  @Roles('admin', 'member')
  @ApiOperation({ operationId: 'createLinksBulk', summary: 'Create up to 1,000 links; items are independent' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays the first response for 24 h' })
  @ApiResponse({ status: 200, schema: BULK_RESULTS_SCHEMA, description: 'One result per item, in order: its status and the link, or a problem' })
  @ApiResponse({ status: 403, description: 'The key is read-only' })
  @ApiResponse({ status: 409, description: 'A request with this Idempotency-Key is still in progress' })
  @ApiResponse({ status: 422, description: 'This Idempotency-Key was used with a different request' })
  async createBulk(
    @CurrentPrincipal() principal: Principal,
    @Body() body: BulkCreateLinksDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.links.createBulk(principal, body, idempotencyKey);
    if (result.replayed) void reply.header('idempotent-replayed', 'true');
    return result.body;
  }

  @Get(':code/qr')
  @ApiOperation({ operationId: 'getLinkQrCode', summary: "A QR code of the link's short URL (PNG or SVG)" })
  @ApiParam({ name: 'code', required: true, description: 'The short code or alias', schema: { type: 'string' } })
  // A PNG body is raw binary, which OpenAPI 3.1 describes with no schema; the SVG is text.
  @ApiResponse({ status: 200, description: 'The QR code image', content: { 'image/png': {}, 'image/svg+xml': { schema: { type: 'string' } } } })
  @ApiResponse({ status: 404, description: 'No such link on this domain, or it belongs to another account' })
  async qr(@CurrentPrincipal() principal: Principal, @Param('code') code: string, @Query() q: QrCodeQuery, @Res({ passthrough: true }) reply: FastifyReply) {
    const query = q;
    const image = await renderQrCode(await this.links.shortUrlOf(principal, code, query.domain), query.format, query.size);
    void reply.header('content-type', image.contentType).header('cache-control', 'private, max-age=300');
    return image.body;
  }

  @Get()
  @ApiOperation({ operationId: 'listLinks', summary: 'List links, newest first (keyset pagination)' })
  @ApiResponse({ status: 200, type: LinkPageDto, description: 'A page of links and the nextCursor of the following page (null on the last)' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListLinksQuery) {
    return this.links.list(principal, query);
  }

  @Get(':code')
  @ApiOperation({ operationId: 'getLink', summary: 'Read a link' })
  @ApiParam({ name: 'code', required: true, description: 'The short code or alias', schema: { type: 'string' } })
  @ApiResponse({ status: 200, type: LinkDto, description: 'The link' })
  @ApiResponse({ status: 404, description: 'No such link on this domain, or it belongs to another account' })
  get(@CurrentPrincipal() principal: Principal, @Param('code') code: string, @Query() q: LinkAddressQuery) {
    return this.links.get(principal, code, q.domain);
  }

  @Patch(':code')
  @Roles('admin', 'member')
  @ApiOperation({ operationId: 'updateLink', summary: 'Change a link (JSON Merge Patch, RFC 7396)' })
  @ApiParam({ name: 'code', required: true, description: 'The short code or alias', schema: { type: 'string' } })
  @ApiConsumes('application/merge-patch+json', 'application/json')
  @ApiResponse({ status: 200, type: LinkDto, description: 'The changed link' })
  @ApiResponse({ status: 403, description: 'The key is read-only' })
  @ApiResponse({ status: 404, description: 'No such link on this domain, or it belongs to another account' })
  @ApiResponse({ status: 410, description: 'The link is deleted' })
  update(@CurrentPrincipal() principal: Principal, @Param('code') code: string, @Body() body: UpdateLinkDto, @Query() q: LinkAddressQuery) {
    return this.links.update(principal, code, body, q.domain);
  }

  @Delete(':code')
  @HttpCode(204)
  @Roles('admin', 'member')
  @ApiOperation({ operationId: 'deleteLink', summary: 'Delete a link: it answers 410 and its code stays reserved' })
  @ApiParam({ name: 'code', required: true, description: 'The short code or alias', schema: { type: 'string' } })
  @ApiResponse({ status: 204, description: 'Deleted (also when it already was)' })
  @ApiResponse({ status: 403, description: 'The key is read-only' })
  @ApiResponse({ status: 404, description: 'No such link on this domain, or it belongs to another account' })
  async delete(@CurrentPrincipal() principal: Principal, @Param('code') code: string, @Query() q: LinkAddressQuery): Promise<void> {
    await this.links.delete(principal, code, q.domain);
  }
}
