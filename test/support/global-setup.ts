// Placeholder until the database lib lands: replaced by the per-run template database setup.
export default async function globalSetup(): Promise<void> {}
