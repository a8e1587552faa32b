/** Types of up-database.mjs (`npm run up`'s database roles and database). */
export declare function adminUrlOf(env: Record<string, string | undefined>): string;
export declare function provisionDatabase(env: Record<string, string | undefined>): Promise<string[]>;
