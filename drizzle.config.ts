import { defineConfig } from "drizzle-kit";

// `npm run db:generate` turns schema changes into SQL migrations; one folder per function.
const fn = process.env.FUNCTION ?? "antaeus";

export default defineConfig({
  dialect: "postgresql",
  schema: `./functions/${fn}/data/schema.ts`,
  out: `./functions/${fn}/data/migrations`,
});
