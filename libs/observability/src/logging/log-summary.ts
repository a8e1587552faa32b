/** {@link LogSummary} lives in @shortener/common (libs that observability depends on use it too); re-exported for its callers here. */
export { LogSummary } from '@shortener/common';
