import { Module } from '@nestjs/common';
import { ShortDomainsModule } from '../application/short-domains.module';
import { AuditController } from './audit.controller';
import { LinkAuditService } from './link-audit.service';

/** The link audit trail (written by the link service) and its admin API. */
@Module({
  imports: [ShortDomainsModule],
  controllers: [AuditController],
  providers: [LinkAuditService],
  exports: [LinkAuditService],
})
export class LinkAuditModule {}
