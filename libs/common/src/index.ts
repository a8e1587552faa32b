export * from './errors/domain-error';
export * from './errors/problem-types';
export * from './http/problem';
export * from './http/problem-details.filter';
export * from './time/clock';
export * from './http/load-shedding';
export * from './http/method-not-allowed';
export * from './batching/batcher';
