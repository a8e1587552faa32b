export { normalizeAlias, RESERVED_PATH_SEGMENTS, MAX_ALIAS_LENGTH } from './alias';
export { canonicalHost, isHostBlocked, isOneOfHosts } from './host-name';
export { appendForwardedQuery } from './redirect-location';
export { isGeneratedCodeShape, ShortCodeGenerator, SHORT_CODE_LENGTH, SHORT_CODE_SPACE } from './short-code';
export { ALLOWED_TARGET_SCHEMES, hostOf, normalizeTarget, type TargetPolicy } from './target-url';
