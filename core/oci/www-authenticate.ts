/**
 * The `WWW-Authenticate` challenge a registry answers a 401 with, read as docker reads it: the scheme
 * says whether to send credentials (`Basic`) or fetch a token from `realm` (`Bearer`), and the
 * parameters name the token service and the scope to ask it for.
 */
export interface Challenge {
  /** Lower-cased, as schemes compare case-insensitively. */
  scheme: string;
  /** Names lower-cased; quoted values unquoted and unescaped. */
  params: Record<string, string>;
}

/** `Bearer realm="...",service="...",scope="..."` into its scheme and parameters. */
export function parseChallenge(value: string | undefined): Challenge | undefined {
  const match = value ? /^\s*(\w+)\s*(.*)$/.exec(value) : null;
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const param of (match[2] ?? "").matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[(param[1] as string).toLowerCase()] = (param[2] ?? param[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return { scheme: (match[1] as string).toLowerCase(), params };
}
