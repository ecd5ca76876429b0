// Harbor's prefix, which no user name may hold: `$` tells a robot's login from a user's.
const PREFIX = "robot$";

/** A robot's name as it logs in and as the API shows it: `robot$<project>+<name>`. */
export function robotFullName(projectName: string, name: string): string {
  return `${PREFIX}${projectName}+${name}`;
}

/** The project and short name in a robot login name; undefined when it is not one. */
export function parseRobotName(fullName: string): { projectName: string; name: string } | undefined {
  if (!fullName.startsWith(PREFIX)) return undefined;
  const rest = fullName.slice(PREFIX.length);
  // Neither project names nor robot names may hold a `+`.
  const plus = rest.indexOf("+");
  if (plus <= 0 || plus === rest.length - 1) return undefined;
  return { projectName: rest.slice(0, plus), name: rest.slice(plus + 1) };
}
