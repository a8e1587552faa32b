import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '@shortener/auth';
import { createZodDto } from 'nestjs-zod';
import { linkStatsQuerySchema, linkStatsResponseSchema, LinkStatsResponse } from '../stats/link-stats.schemas';
import { LinkStatsService } from '../stats/link-stats.service';

class LinkStatsQueryDto extends createZodDto(linkStatsQuerySchema) {}
class LinkStatsResponseDto extends createZodDto(linkStatsResponseSchema) {}

/**
 * `GET /api/v1/links/{code}/stats` (docs/design.md section 3). Authenticated by
 * the global API key guard; any role may read its account's links (admins
 * every account); another account's link answers 404.
 */
@ApiTags('links')
@ApiBearerAuth()
@Controller('api/v1/links')
export class LinkStatsController {
  constructor(private readonly stats: LinkStatsService) {}

  @Get(':code/stats')
  @ApiOperation({
    operationId: 'getLinkStats',
    summary: "A link's click analytics",
    description:
      'Totals, a UTC time series and top lists over [from, to). Dimensions and unique visitors count human clicks and have daily resolution. ' +
      'At most 1,000 series points (400 stats-range-invalid beyond).',
  })
  @ApiOkResponse({ type: LinkStatsResponseDto, description: 'Totals, the time series and the top lists of the range' })
  @ApiNotFoundResponse({ description: 'No such link on this domain, or it belongs to another account' })
  get(@CurrentPrincipal() principal: Principal, @Param('code') code: string, @Query() query: LinkStatsQueryDto): Promise<LinkStatsResponse> {
    return this.stats.stats(principal, code, query);
  }
}
