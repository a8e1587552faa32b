/** HTTP and Nest adapters shared by the apps: problem details, the exception filter, route hooks, request deadlines and limits, ClockModule. */
export * from './problem';
export * from './problem-details.filter';
export * from './clock.module';
export * from './load-shedding';
export * from './method-not-allowed';
export * from './client-error';
export * from './route-hooks';
export * from './request-deadline';
