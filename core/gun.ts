/**
 * A notary GUN as Trustdock serves it: the image name with its registry, `<host[:port]>/<project>/<repo...>`,
 * each path component in the lowercase grammar of the OCI distribution spec.
 */
const DOMAIN = String.raw`(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+|[a-zA-Z0-9.-]+:[0-9]+|\[[0-9a-fA-F:]+\](?::[0-9]+)?)`;
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const GUN_PATTERN = new RegExp(`^${DOMAIN}(?:/${COMPONENT}){2,}$`);

export const MAX_GUN_LENGTH = 255;

export function isValidGun(gun: string): boolean {
  return gun.length <= MAX_GUN_LENGTH && GUN_PATTERN.test(gun);
}
