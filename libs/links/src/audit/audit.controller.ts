import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '@shortener/auth';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { text } from '../application/input.schemas';
import { ShortDomains } from '../application/short-domains';
import { LinkAuditService, linkAuditPageSchema } from './link-audit.service';

const listAuditSchema = z
  .object({
    link: text().min(1).max(256).optional().describe("Only this link's trail: its code or alias"),
    domain: text().min(1).max(253).optional().describe('The short domain of `link`; the default domain when absent'),
    cursor: text().min(1).max(200).optional().describe('The nextCursor of the previous page'),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();
class ListAuditQuery extends createZodDto(listAuditSchema) {}
class LinkAuditPageDto extends createZodDto(linkAuditPageSchema) {}

/** `GET /api/v1/audit` (admin only): the audit trail of link changes. */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin')
@Controller('api/v1/audit')
export class AuditController {
  constructor(
    private readonly audit: LinkAuditService,
    private readonly domains: ShortDomains,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'listLinkAudit', summary: 'List link changes (create, update, delete), newest first (keyset pagination)' })
  @ApiResponse({
    status: 200,
    type: LinkAuditPageDto,
    description: 'A page of changes (who, what, when, before and after) and the nextCursor of the following page (null on the last)',
  })
  @ApiResponse({ status: 403, description: 'Only admin keys read the audit trail' })
  list(@Query() query: ListAuditQuery) {
    const q = query;
    const link = q.link === undefined ? undefined : { domain: this.domains.resolve(q.domain).host, code: q.link.normalize('NFC') };
    return this.audit.list({ link, cursor: q.cursor, limit: q.limit });
  }
}
