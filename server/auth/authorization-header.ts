/** Credentials of an `Authorization` header, told apart by scheme. */
export type Credentials =
  | { readonly scheme: "none" }
  | { readonly scheme: "basic"; readonly username: string; readonly password: string }
  | { readonly scheme: "bearer"; readonly token: string }
  /** A header we cannot read: a client that meant to authenticate, so never treated as anonymous. */
  | { readonly scheme: "malformed" };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function parseAuthorization(header: string | undefined): Credentials {
  if (header === undefined || header.trim() === "") return { scheme: "none" };
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header.trim());
  if (!match) return { scheme: "malformed" };
  const [, scheme = "", value = ""] = match;
  switch (scheme.toLowerCase()) {
    case "bearer":
      return { scheme: "bearer", token: value };
    case "basic": {
      if (!BASE64.test(value)) return { scheme: "malformed" };
      const decoded = Buffer.from(value, "base64").toString("utf8");
      // The password may hold colons; the username may not (RFC 7617).
      const colon = decoded.indexOf(":");
      if (colon < 0) return { scheme: "malformed" };
      return { scheme: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    default:
      return { scheme: "malformed" };
  }
}
