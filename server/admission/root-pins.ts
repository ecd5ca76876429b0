import type { RootSigned } from "../../core/tuf/types.js";
import type { Queryable } from "../storage/db.js";

/** Roots of trust the admission check trusted on first use, by GUN; a pin only ever moves forward. */
export interface RootPins {
  get(gun: string): Promise<RootSigned | undefined>;
  pin(gun: string, root: RootSigned): Promise<void>;
}

export class DatabaseRootPins implements RootPins {
  constructor(private readonly db: Queryable) {}

  async get(gun: string): Promise<RootSigned | undefined> {
    const [row] = await this.db.query<{ root_signed: string }>(
      "SELECT root_signed FROM admission_root_pins WHERE gun = $1",
      [gun],
    );
    return row ? (JSON.parse(row.root_signed) as RootSigned) : undefined;
  }

  async pin(gun: string, root: RootSigned): Promise<void> {
    // Two reviews pinning at once: the first root stays unless the other is a newer (verified) rotation.
    await this.db.query(
      `INSERT INTO admission_root_pins (gun, version, root_signed) VALUES ($1, $2, $3)
       ON CONFLICT (gun) DO UPDATE SET version = EXCLUDED.version, root_signed = EXCLUDED.root_signed,
         pinned_at = now()
       WHERE admission_root_pins.version < EXCLUDED.version`,
      [gun, root.version, JSON.stringify(root)],
    );
  }
}

/** Pins that last as long as the process: the CLI's check, which has no database. */
export class MemoryRootPins implements RootPins {
  private readonly roots = new Map<string, RootSigned>();

  async get(gun: string): Promise<RootSigned | undefined> {
    return this.roots.get(gun);
  }

  async pin(gun: string, root: RootSigned): Promise<void> {
    const current = this.roots.get(gun);
    if (!current || current.version < root.version) this.roots.set(gun, root);
  }
}
