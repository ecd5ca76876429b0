import type { Migration } from "../storage/migrations.js";

export const admissionMigrations: Migration[] = [
  {
    version: 1,
    name: "roots of trust pinned on first use by the admission check",
    sql: `
      CREATE TABLE admission_root_pins (
        gun text PRIMARY KEY,
        version integer NOT NULL,
        root_signed text NOT NULL,
        pinned_at timestamptz NOT NULL DEFAULT now()
      )
    `,
  },
];
