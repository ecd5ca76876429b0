import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { parseCertificatesPem } from "../../core/cosign/certificate.js";
import { parsePublicKeyPem } from "../../core/cosign/keys.js";
import {
  type BlobTransparencyLog,
  type BlobVerifier,
  decodeSignatureFile,
  type LocalSignedPayload,
  parseLocalSignedPayload,
  verifyBlob,
} from "../../core/cosign/verify-blob.js";
import { type KeylessFlags, keylessTrust } from "../keyless-flags.js";

interface VerifyBlobOptions extends KeylessFlags {
  key?: string;
  signature?: string;
  bundle?: string;
  certificate?: string;
  insecureIgnoreTlog?: boolean;
}

/**
 * `trustdock verify-blob`, as cosign's: "Verified OK" on standard error and exit 0, or `Error: ...` and
 * exit 1. Offline: certificates are checked against the roots given here and a bundle's Rekor entry
 * against the key in SIGSTORE_REKOR_PUBLIC_KEY, never against fetched ones.
 */
export function registerVerifyBlob(program: Command): void {
  program
    .command("verify-blob")
    .description(
      "verify a detached signature over a file, with a public key or a certificate, as cosign verify-blob",
    )
    .argument("<file>", "the signed file, or - for standard input")
    .option("--key <file>", "the public key (PKIX PEM) to verify with")
    .option("--signature <file>", "the signature: a file (base64 or raw) or the base64 text itself")
    .option(
      "--bundle <file>",
      "what cosign sign-blob --bundle wrote: the signature, its certificate and its Rekor entry",
    )
    .option("--certificate <file>", "the signing certificate (PEM)")
    .option(
      "--certificate-chain <file>",
      "intermediates and, last, the root the certificate must chain to (PEM)",
    )
    .option("--ca-roots <file>", "root certificates the certificate may chain to (PEM)")
    .option("--certificate-identity <identity>", "the email or URI the certificate must name")
    .option(
      "--certificate-identity-regexp <regexp>",
      "a regular expression an email or URI of the certificate must match",
    )
    .option("--certificate-oidc-issuer <issuer>", "the OIDC issuer the certificate must name")
    .option(
      "--certificate-oidc-issuer-regexp <regexp>",
      "a regular expression the certificate's OIDC issuer must match",
    )
    .option("--insecure-ignore-tlog", "do not check the bundle's Rekor entry")
    .action(async (file: string, opts: VerifyBlobOptions) => {
      try {
        const blob = file === "-" ? await readStdin() : readFileSync(file);
        const bundle =
          opts.bundle === undefined ? undefined : parseLocalSignedPayload(readFileSync(opts.bundle, "utf8"));
        verifyBlob(
          new Uint8Array(blob),
          signatureFrom(opts, bundle),
          verifierFrom(opts, bundle),
          tlogFrom(opts, bundle),
        );
        console.error("Verified OK");
      } catch (err) {
        console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      }
    });
}

function signatureFrom(opts: VerifyBlobOptions, bundle: LocalSignedPayload | undefined): Uint8Array {
  if (opts.signature !== undefined)
    return decodeSignatureFile(
      existsSync(opts.signature) ? readFileSync(opts.signature) : Buffer.from(opts.signature),
    );
  if (bundle) return decodeSignatureFile(Buffer.from(bundle.base64Signature));
  throw new Error("missing flag '--signature'");
}

function tlogFrom(
  opts: VerifyBlobOptions,
  bundle: LocalSignedPayload | undefined,
): BlobTransparencyLog | undefined {
  if (!bundle?.rekorBundle || opts.insecureIgnoreTlog) return undefined;
  // cosign's own variable for a Rekor key given out of band instead of fetched through TUF.
  const keyFile = process.env.SIGSTORE_REKOR_PUBLIC_KEY;
  if (!keyFile)
    throw new Error(
      "the bundle's Rekor entry can only be checked offline against a given Rekor key: set SIGSTORE_REKOR_PUBLIC_KEY (or pass --insecure-ignore-tlog)",
    );
  return { bundle: bundle.rekorBundle, rekorPublicKeys: [parsePublicKeyPem(readFileSync(keyFile, "utf8"))] };
}

function verifierFrom(opts: VerifyBlobOptions, bundle: LocalSignedPayload | undefined): BlobVerifier {
  if (opts.key !== undefined && opts.certificate !== undefined)
    throw new Error("--key and --certificate are mutually exclusive");
  if (opts.key !== undefined) return { kind: "key", key: parsePublicKeyPem(readFileSync(opts.key, "utf8")) };
  const certificatePem =
    opts.certificate !== undefined
      ? readFileSync(opts.certificate, "utf8")
      : bundle?.cert && Buffer.from(bundle.cert, "base64").toString("utf8");
  if (!certificatePem)
    throw new Error("please provide a public key (--key) or a certificate (--certificate)");
  const keyless = keylessTrust(opts);
  const [certificate] = parseCertificatesPem(certificatePem);
  if (!certificate) throw new Error("the certificate holds no CERTIFICATE block");
  return { kind: "certificate", certificate, ...keyless, now: new Date() };
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
