import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { type ImageReference, parseImageReference } from "../../core/admission/image-reference.js";
import { appendSignatureLayer } from "../../core/cosign/append-signature.js";
import { loadPrivateKey } from "../../core/cosign/keys.js";
import { signPayload } from "../../core/cosign/signature.js";
import {
  buildSignatureManifest,
  type Descriptor,
  OCI_MANIFEST_MEDIA_TYPE,
  parseSignatureManifest,
  SIGNATURE_ANNOTATION,
  signatureTag,
} from "../../core/cosign/signature-manifest.js";
import {
  buildImageSignatureBundle,
  bundleReferrerManifest,
  OCI_EMPTY_CONFIG,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
} from "../../core/cosign/sigstore-bundle.js";
import { buildSimpleSigningPayload } from "../../core/cosign/simple-signing.js";
import { sha256Hex } from "../../core/digest.js";
import { toBase64 } from "../../core/encoding.js";
import { collectAnnotation } from "../cosign-annotations.js";
import { readCosignPassword } from "../cosign-password.js";
import { repositoryName } from "../registry/image-names.js";
import { openRegistry } from "../registry/open-registry.js";
import type { RegistryClient } from "../registry/registry-client.js";

interface SignOptions {
  key: string;
  annotations: Record<string, string>;
  newBundleFormat?: boolean;
  tlogUpload: string;
  ca?: string;
}

/** cosign 2's words when it is asked to sign a tag. */
function tagReferenceWarning(reference: string): string {
  return `WARNING: Image reference ${reference} uses a tag, not a digest, to identify the image to sign.
    This can lead you to sign a different image than the intended one. Please use a
    digest (example.com/ubuntu@sha256:abc123...) rather than tag
    (example.com/ubuntu:latest) for the input to cosign. The ability to refer to
    images by tag will be removed in a future release.

`;
}

/**
 * `trustdock sign`, as `cosign sign --key K --tlog-upload=false`: the image is signed by digest, in
 * cosign's `.sig` manifest (appended to the signatures there) or, with --new-bundle-format, as a
 * Sigstore bundle referring to the image. Nothing goes to a transparency log.
 */
export function registerSign(program: Command): void {
  program
    .command("sign")
    .description("sign a container image in its registry with a cosign key, as cosign sign")
    .argument("<image>", "the image: registry/repository:tag or @sha256:digest")
    .requiredOption("--key <file>", "the cosign private key (password from COSIGN_PASSWORD or a prompt)")
    .option(
      "-a, --annotations <key=value>",
      "an annotation signed into the payload; repeatable",
      collectAnnotation,
      {},
    )
    .option("--new-bundle-format", "store a Sigstore bundle as an OCI 1.1 referrer instead of the .sig tag")
    .option("--tlog-upload <bool>", "only false: Trustdock signs without a transparency log", "false")
    .option("-y, --yes", "accepted for cosign's command lines; there is nothing to confirm")
    .option("--ca <file>", "a CA certificate to trust for the registry (default $TRUSTDOCK_CA)")
    .action(async (imageText: string, opts: SignOptions) => {
      try {
        if (opts.tlogUpload !== "false")
          throw new Error("uploading to a transparency log is not supported: pass --tlog-upload=false");
        if (opts.newBundleFormat && Object.keys(opts.annotations).length > 0)
          throw new Error("-a annotations cannot be signed into a Sigstore bundle's statement");
        const image = parseImageReference(imageText);
        const privateKey = loadPrivateKey(readFileSync(opts.key, "utf8"), await readCosignPassword(false));
        if (!image.digest) process.stderr.write(tagReferenceWarning(imageText));
        const registry = await openRegistry(image, opts);
        try {
          const subject = await registry.resolve(image.repository, image.digest ?? image.tag ?? "latest");
          if (opts.newBundleFormat) await signWithBundle(registry, image, subject, privateKey);
          else await signClassic(registry, image, subject.digest, privateKey, opts.annotations);
        } finally {
          registry.close();
        }
      } catch (err) {
        console.error(`Error: signing [${imageText}]: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      }
    });
}

async function signClassic(
  registry: RegistryClient,
  image: ImageReference,
  digest: string,
  privateKey: KeyObject,
  annotations: Record<string, string>,
): Promise<void> {
  const payload = buildSimpleSigningPayload({
    dockerReference: repositoryName(image),
    manifestDigest: digest,
    optional: Object.keys(annotations).length > 0 ? annotations : null,
  });
  const signature = toBase64(signPayload(privateKey, payload));
  const tag = signatureTag(digest);
  const existing = await registry.getManifest(image.repository, tag);
  const existingLayers: Descriptor[] = existing ? parseSignatureManifest(existing.bytes).layers : [];
  const { layers } = appendSignatureLayer(
    existingLayers,
    { payload, annotations: { [SIGNATURE_ANNOTATION]: signature } },
    privateKey,
  );
  const { manifest, config } = buildSignatureManifest(layers);
  process.stderr.write(`Pushing signature to: ${repositoryName(image)}\n`);
  await registry.pushBlob(image.repository, payload);
  await registry.pushBlob(image.repository, config);
  await registry.putManifest(image.repository, tag, manifest, OCI_MANIFEST_MEDIA_TYPE);
}

async function signWithBundle(
  registry: RegistryClient,
  image: ImageReference,
  subject: Descriptor,
  privateKey: KeyObject,
): Promise<void> {
  const bundle = buildImageSignatureBundle(privateKey, {
    repository: repositoryName(image),
    manifestDigest: subject.digest,
  });
  const manifest = bundleReferrerManifest(bundle, subject, new Date());
  await registry.pushBlob(image.repository, OCI_EMPTY_CONFIG);
  await registry.pushBlob(image.repository, bundle);
  const { digest, subjectAccepted } = await registry.putManifest(
    image.repository,
    `sha256:${sha256Hex(manifest)}`,
    manifest,
    OCI_MANIFEST_MEDIA_TYPE,
  );
  if (!subjectAccepted)
    await registry.addToReferrersTag(image.repository, subject.digest, {
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      digest,
      size: manifest.byteLength,
      artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    });
}
