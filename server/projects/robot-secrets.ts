import { randomInt } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LENGTH = 32;

/** Whether `secret` meets Harbor's rule for robot secrets: 8 to 128 characters, with upper, lower and digit. */
export function isStrongSecret(secret: string): boolean {
  return (
    secret.length >= 8 &&
    secret.length <= 128 &&
    /[A-Z]/.test(secret) &&
    /[a-z]/.test(secret) &&
    /\d/.test(secret)
  );
}

/** A random secret of 32 letters and digits (~190 bits) that meets Harbor's rule, as Harbor generates them. */
export function generateRobotSecret(): string {
  for (;;) {
    const secret = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
    if (isStrongSecret(secret)) return secret;
  }
}
