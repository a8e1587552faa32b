import { InitialSchema1764400000000 } from './1764400000000-initial-schema';

/** Every migration in order. Listed explicitly so the compiled image needs no glob. */
export const MIGRATIONS = [InitialSchema1764400000000];
