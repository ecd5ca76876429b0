import type { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { type ImageReference, parseImageReference } from "../../core/admission/image-reference.js";
import {
  certificateIdentity,
  OIDC_ISSUER_V1_OID,
  parseCertificatesPem,
} from "../../core/cosign/certificate.js";
import { parsePublicKeyPem } from "../../core/cosign/keys.js";
import {
  CERTIFICATE_ANNOTATION,
  parseSignatureManifest,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signatureTag,
} from "../../core/cosign/signature-manifest.js";
import { SIGSTORE_BUNDLE_MEDIA_TYPE } from "../../core/cosign/sigstore-bundle.js";
import { COSIGN_SIGNATURE_TYPE, type OptionalValue } from "../../core/cosign/simple-signing.js";
import {
  type ImageVerifyOptions,
  type SignatureLayer,
  type SignatureVerdict,
  type VerifiedSignature,
  type Verifier,
  verifyBundleSignature,
  verifySignatureLayer,
} from "../../core/cosign/verify-image.js";
import { collectAnnotation } from "../cosign-annotations.js";
import { type KeylessFlags, keylessTrust } from "../keyless-flags.js";
import { referenceName } from "../registry/image-names.js";
import { openRegistry } from "../registry/open-registry.js";
import type { RegistryClient } from "../registry/registry-client.js";

interface VerifyOptions extends KeylessFlags {
  key?: string;
  annotations: Record<string, string>;
  insecureIgnoreTlog?: boolean;
  ca?: string;
}

/** A verified signature and, for a keyless one, the certificate that made it. */
interface Verified {
  signature: VerifiedSignature;
  certificate?: X509Certificate;
}

/**
 * `trustdock verify`, as `cosign verify`: every signature of the image in both layouts (the `.sig` tag
 * and Sigstore bundle referrers) is checked; with at least one verified, the checks made go to standard
 * error and the verified payloads, as a JSON array, to standard output; with none, `Error: no matching
 * signatures: <why each failed>` and exit 1. Offline: keys, roots and the Rekor key are the ones given.
 */
export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("verify the cosign signatures of a container image in its registry, as cosign verify")
    .argument("<image>", "the image: registry/repository:tag or @sha256:digest")
    .option("--key <file>", "the public key (PKIX PEM) to verify with")
    .option(
      "-a, --annotations <key=value>",
      "an annotation the payload must carry; repeatable",
      collectAnnotation,
      {},
    )
    .option(
      "--certificate-chain <file>",
      "intermediates and, last, the root signing certificates must chain to",
    )
    .option("--ca-roots <file>", "root certificates signing certificates may chain to (PEM)")
    .option("--certificate-identity <identity>", "the email or URI the signing certificate must name")
    .option("--certificate-identity-regexp <regexp>", "a regular expression an email or URI of it must match")
    .option("--certificate-oidc-issuer <issuer>", "the OIDC issuer the signing certificate must name")
    .option("--certificate-oidc-issuer-regexp <regexp>", "a regular expression its OIDC issuer must match")
    .option("--insecure-ignore-tlog", "do not check Rekor bundles even when SIGSTORE_REKOR_PUBLIC_KEY is set")
    .option("--ca <file>", "a CA certificate to trust for the registry (default $TRUSTDOCK_CA)")
    .action(async (imageText: string, opts: VerifyOptions) => {
      try {
        const image = parseImageReference(imageText);
        const options = verifyOptions(opts);
        const registry = await openRegistry(image, opts);
        let verified: Verified[];
        try {
          verified = await verifyImage(registry, image, options);
        } finally {
          registry.close();
        }
        printHeader(image, opts, options);
        console.log(JSON.stringify(verified.map(printedPayload)));
      } catch (err) {
        console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      }
    });
}

/** The options without the digest, which is known once the registry has been asked. */
type CheckOptions = Omit<ImageVerifyOptions, "manifestDigest">;

async function verifyImage(
  registry: RegistryClient,
  image: ImageReference,
  options: CheckOptions,
): Promise<Verified[]> {
  const manifestDigest = (await registry.resolve(image.repository, image.digest ?? image.tag ?? "latest"))
    .digest;
  const checks: ImageVerifyOptions = { ...options, manifestDigest };
  const verdicts: { verdict: SignatureVerdict; certificatePem?: string }[] = [];

  const signatures = await registry.getManifest(image.repository, signatureTag(manifestDigest));
  const layers = signatures ? parseSignatureManifest(signatures.bytes).layers : [];
  for (const descriptor of layers) {
    // Only simple-signing payloads are read: anything else is refused by its media type alone.
    const content =
      descriptor.mediaType === SIMPLE_SIGNING_MEDIA_TYPE
        ? await registry.getBlob(image.repository, descriptor.digest)
        : undefined;
    const layer: SignatureLayer = { descriptor, content };
    verdicts.push({
      verdict: verifySignatureLayer(layer, verdicts.length, checks),
      certificatePem: descriptor.annotations?.[CERTIFICATE_ANNOTATION],
    });
  }

  for (const referrer of await registry.referrers(
    image.repository,
    manifestDigest,
    SIGSTORE_BUNDLE_MEDIA_TYPE,
  )) {
    const manifest = await registry.getManifest(image.repository, referrer.digest);
    const bundleLayer = manifest
      ? parseSignatureManifest(manifest.bytes).layers.find((l) => l.mediaType === SIGSTORE_BUNDLE_MEDIA_TYPE)
      : undefined;
    const digest = bundleLayer?.digest ?? referrer.digest;
    const content = bundleLayer ? await registry.getBlob(image.repository, bundleLayer.digest) : undefined;
    verdicts.push({ verdict: verifyBundleSignature({ digest, content }, verdicts.length, checks) });
  }

  if (verdicts.length === 0) throw new Error("no signatures found");
  const verified: Verified[] = [];
  const reasons: string[] = [];
  for (const { verdict, certificatePem } of verdicts) {
    if (!verdict.ok) reasons.push(verdict.reason);
    else {
      const [certificate] =
        certificatePem && options.verifier.kind === "certificate" ? parseCertificatesPem(certificatePem) : [];
      verified.push({ signature: verdict, ...(certificate ? { certificate } : {}) });
    }
  }
  if (verified.length === 0) throw new Error(`no matching signatures: ${reasons.join("\n ")}`);
  return verified;
}

function verifyOptions(opts: VerifyOptions): CheckOptions {
  const rekorKeyFile = opts.insecureIgnoreTlog ? undefined : process.env.SIGSTORE_REKOR_PUBLIC_KEY;
  return {
    verifier: verifierFrom(opts),
    ...(Object.keys(opts.annotations).length > 0 ? { annotations: opts.annotations } : {}),
    ...(rekorKeyFile ? { rekorPublicKeys: [parsePublicKeyPem(readFileSync(rekorKeyFile, "utf8"))] } : {}),
  };
}

function verifierFrom(opts: VerifyOptions): Verifier {
  if (opts.key !== undefined) {
    if (opts.certificateChain !== undefined || opts.caRoots !== undefined)
      throw new Error("--key cannot be combined with --certificate-chain or --ca-roots");
    return { kind: "keys", keys: [parsePublicKeyPem(readFileSync(opts.key, "utf8"))] };
  }
  return { kind: "certificate", ...keylessTrust(opts) };
}

/** cosign's PrintVerificationHeader for what was checked: claims always, then key or certificates. */
function printHeader(image: ImageReference, opts: VerifyOptions, options: CheckOptions): void {
  const lines = [
    "",
    `Verification for ${referenceName(image)} --`,
    "The following checks were performed on each of these signatures:",
  ];
  if (options.annotations) lines.push("  - The specified annotations were verified.");
  lines.push("  - The cosign claims were validated");
  if (options.rekorPublicKeys)
    lines.push("  - Existence of the claims in the transparency log was verified offline");
  if (opts.key !== undefined) lines.push("  - The signatures were verified against the specified public key");
  else
    lines.push(
      "  - The code-signing certificate was verified using trusted certificate authority certificates",
    );
  process.stderr.write(`${lines.join("\n")}\n`);
}

/**
 * A verified payload as cosign prints it (a SimpleContainerImage marshalled again), with a keyless
 * signature's certificate subject and issuer added to `optional` as cosign adds them.
 */
function printedPayload({ signature, certificate }: Verified): unknown {
  const { payload } = signature;
  let optional: Record<string, OptionalValue> | null = payload.optional;
  if (certificate) {
    const identity = certificateIdentity(certificate);
    optional = { ...(optional ?? {}), Subject: identity.emails[0] ?? identity.uris[0] ?? "" };
    if (identity.oidcIssuer) {
      optional.Issuer = identity.oidcIssuer;
      optional[OIDC_ISSUER_V1_OID] = identity.oidcIssuer;
    }
  }
  return {
    critical: {
      identity: { "docker-reference": payload.dockerReference },
      image: { "docker-manifest-digest": payload.manifestDigest },
      type: payload.type ?? COSIGN_SIGNATURE_TYPE,
    },
    optional: optional && sortedKeys(optional),
  };
}

/** Go marshals maps with sorted keys. */
function sortedKeys(record: Record<string, OptionalValue>): Record<string, OptionalValue> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
