import { Module } from '@nestjs/common';
import { ShortDomains } from './short-domains';

/** The configured short domains ({@link ShortDomains}): which hosts links live on. */
@Module({
  providers: [ShortDomains],
  exports: [ShortDomains],
})
export class ShortDomainsModule {}
