export * from './errors/domain-error';
export * from './errors/problem-types';
