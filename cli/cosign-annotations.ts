import { InvalidArgumentError } from "commander";

/** cosign's `-a key=value` flags, collected into one map (a later key wins, as in cosign's flag map). */
export function collectAnnotation(value: string, previous: Record<string, string>): Record<string, string> {
  const equals = value.indexOf("=");
  if (equals < 0) throw new InvalidArgumentError(`unable to parse annotation: ${value}`);
  return { ...previous, [value.slice(0, equals)]: value.slice(equals + 1) };
}
