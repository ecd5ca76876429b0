// A test-side RFC 6902 applier, so a test proves a patch applies to the object the way kube-apiserver
// applies it: pointers must exist for `replace`, `test` must hold, anything else is an error.

type Json = unknown;

interface Operation {
  op: string;
  path: string;
  value?: Json;
}

function tokens(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`${pointer} is not a JSON pointer`);
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(document: Json, path: string): { parent: Record<string, Json> | Json[]; key: string } {
  const parts = tokens(path);
  const key = parts.pop();
  if (key === undefined) throw new Error("the root cannot be patched here");
  let node = document;
  for (const part of parts) {
    if (typeof node !== "object" || node === null || !(part in node))
      throw new Error(`${path} does not exist`);
    node = (node as Record<string, Json>)[part];
  }
  if (typeof node !== "object" || node === null) throw new Error(`${path} has no parent container`);
  return { parent: node as Record<string, Json>, key };
}

export function applyJsonPatch<T>(document: T, patch: readonly Operation[]): T {
  const copy = structuredClone(document) as Json;
  for (const operation of patch) {
    const { parent, key } = parentOf(copy, operation.path);
    const exists = Array.isArray(parent) ? /^\d+$/.test(key) && Number(key) < parent.length : key in parent;
    switch (operation.op) {
      case "replace":
        if (!exists) throw new Error(`replace: ${operation.path} does not exist`);
        (parent as Record<string, Json>)[key] = operation.value;
        break;
      case "test":
        if (
          !exists ||
          JSON.stringify((parent as Record<string, Json>)[key]) !== JSON.stringify(operation.value)
        )
          throw new Error(`test failed at ${operation.path}`);
        break;
      default:
        throw new Error(`operation ${operation.op} is not expected in an image-pinning patch`);
    }
  }
  return copy as T;
}
