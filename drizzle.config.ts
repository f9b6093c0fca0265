import { defineConfig } from 'drizzle-kit';

// Only `generate` is used (migrations are committed and applied by `threetone-sync migrate`),
// so no database credentials are needed here.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  casing: 'snake_case',
});
