import type { SqlParam } from "../storage/db.js";

/** Collects the parameters of a query built from optional filters, handing out their `$n` placeholders. */
export class SqlParams {
  readonly values: SqlParam[] = [];

  add(value: SqlParam): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** `value` as a LIKE pattern matching itself anywhere (Harbor's fuzzy match), its wildcards escaped. */
export function containsPattern(value: string): string {
  return `%${value.replace(/[\\%_]/g, "\\$&")}%`;
}
