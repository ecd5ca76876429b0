import { SignerError } from "./errors.js";

/** The passphrases that encrypt keys at rest, by alias, and the alias new keys are encrypted under. */
export interface Passphrases {
  readonly defaultAlias: string;
  /** The passphrase for `alias`; throws PASSPHRASE_MISSING naming the variable to set. */
  passphraseFor(alias: string): string;
}

const ALIAS = /^[a-z0-9_]+$/;

/** The environment variable holding `alias`'s passphrase. */
export function passphraseVariable(alias: string): string {
  return `TRUSTDOCK_SIGNER_PASSPHRASE_${alias.toUpperCase()}`;
}

/**
 * Reads `TRUSTDOCK_SIGNER_PASSPHRASE_<ALIAS>` on demand and `TRUSTDOCK_SIGNER_DEFAULT_ALIAS` (default
 * `default`) once. Aliases are lower-case letters, digits and `_` so that every one names a variable.
 */
export function passphrasesFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Passphrases {
  const defaultAlias = normalizeAlias(env.TRUSTDOCK_SIGNER_DEFAULT_ALIAS || "default");
  return {
    defaultAlias,
    passphraseFor(alias) {
      const variable = passphraseVariable(normalizeAlias(alias));
      const passphrase = env[variable];
      if (!passphrase) {
        throw new SignerError(
          "PASSPHRASE_MISSING",
          `no passphrase for signer key alias "${alias}": set ${variable}`,
        );
      }
      return passphrase;
    },
  };
}

export function normalizeAlias(alias: string): string {
  const normalized = alias.toLowerCase();
  if (!ALIAS.test(normalized)) {
    throw new SignerError(
      "INVALID_REQUEST",
      `signer key alias "${alias}" must be letters, digits and underscores only`,
    );
  }
  return normalized;
}
