/**
 * Policy patterns: `*` matches within one path component (no `/`), `**` across components, `?` one
 * character other than `/`. Everything else matches itself.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === "*" && pattern[i + 1] === "*") {
      source += ".*";
      i++;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

export function globMatches(pattern: string, value: string): boolean {
  return globToRegExp(pattern).test(value);
}
