import { Global, Module } from '@nestjs/common';
import { ShortDomains } from '../application/short-domains';
import { AuditController } from './audit.controller';
import { LinkAuditService } from './link-audit.service';

/**
 * The link audit trail and its admin API. Global: the links module's link
 * service writes the trail, so an app that composes the links module
 * imports this one too.
 */
@Global()
@Module({
  controllers: [AuditController],
  providers: [LinkAuditService, ShortDomains],
  exports: [LinkAuditService],
})
export class LinkAuditModule {}
