/** Types of up-env.mjs (the environment of `npm run up`). */
export declare const DEV_ADMIN_KEY: string;
export declare const DEV_OWNER_ROLE: string;
export declare const DEV_APP_ROLE: string;
export declare function upEnvironment(processEnv: NodeJS.ProcessEnv): Record<string, string | undefined>;
