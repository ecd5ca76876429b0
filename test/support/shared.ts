import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** `../shared` beside the checkout (fixtures and peer scripts), or wherever TRUSTDOCK_SHARED points. */
export const sharedDir = process.env.TRUSTDOCK_SHARED ?? resolve(repoRoot, "../shared");

export function fixturePath(...parts: string[]): string {
  return join(sharedDir, "fixtures", ...parts);
}

export function sharedAvailable(): boolean {
  return existsSync(join(sharedDir, "fixtures"));
}

export { repoRoot };
