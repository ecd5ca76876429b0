import type { KeyObject } from "node:crypto";
import type { CosignSubject, CosignVerdict, CosignVerifier } from "../../core/admission/cosign.js";
import { registryApiHost } from "../../core/admission/image-reference.js";
import { parsePublicKeyPem } from "../../core/cosign/keys.js";
import { parseSignatureManifest, signatureTag } from "../../core/cosign/signature-manifest.js";
import { verifyImageSignatures } from "../../core/cosign/verify-image.js";
import type { AdmissionRegistryClient } from "./registry-client.js";

/**
 * Cosign's check of an image with keys (`cosign verify --key`): the `.sig` manifest beside the image in
 * its repository, each layer verified by core/cosign over the payload's exact bytes, the payload naming
 * this digest. One signature by one of the keys is enough.
 */
export class RegistryCosignVerifier implements CosignVerifier {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly registries: AdmissionRegistryClient) {}

  async verify(subject: CosignSubject, pems: readonly string[], signal: AbortSignal): Promise<CosignVerdict> {
    let keys: KeyObject[];
    try {
      keys = pems.map((pem) => this.key(pem));
    } catch (err) {
      return { verified: false, reason: `a key of the policy does not parse: ${(err as Error).message}` };
    }
    const host = registryApiHost(subject.registry);
    const { repository, digest, credentials } = subject;
    const manifest = await this.registries.manifestBytes(
      host,
      repository,
      signatureTag(digest),
      signal,
      credentials,
    );
    if (!manifest) return { verified: false, reason: `no cosign signature for ${digest}` };
    let layers: ReturnType<typeof parseSignatureManifest>["layers"];
    try {
      layers = parseSignatureManifest(manifest).layers;
    } catch (err) {
      return { verified: false, reason: (err as Error).message };
    }
    const contents = await Promise.all(
      layers.map((descriptor) =>
        this.registries.blob(host, repository, descriptor.digest, signal, credentials),
      ),
    );
    const { verified, rejected } = verifyImageSignatures(
      layers.map((descriptor, i) => ({ descriptor, content: contents[i] })),
      { manifestDigest: digest, verifier: { kind: "keys", keys } },
    );
    if (verified.length > 0) return { verified: true, reason: "signed by cosign" };
    return {
      verified: false,
      reason:
        rejected.length > 0
          ? rejected.map((r) => r.reason).join("; ")
          : "the signature manifest has no layers",
    };
  }

  private key(pem: string): KeyObject {
    let key = this.keys.get(pem);
    if (!key) {
      key = parsePublicKeyPem(pem);
      if (this.keys.size > 1000) this.keys.clear();
      this.keys.set(pem, key);
    }
    return key;
  }
}
