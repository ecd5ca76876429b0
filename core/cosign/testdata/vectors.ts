import { readFileSync } from "node:fs";

/** Key files and ciphertexts made by cosign and go-securesystemslib (sources in key-vectors.json). */
export const keyVectors = JSON.parse(
  readFileSync(new URL("./key-vectors.json", import.meta.url), "utf8"),
) as {
  cosign_generate_key_pair: { private_key_pem: string; password: string; public_key_pem: string };
  cosign_v2_sigstore_key: { private_key_pem: string; password: string; public_key_pem: string };
  go_securesystemslib_vectors: {
    passphrase: string;
    sealed: { json: string; plaintext: string }[];
    unsupported_params: string;
  };
};

/** What cosign pushed when it signed an image: payload, config and manifest, digests as the registry gave them. */
export const cosignPushVector = JSON.parse(
  readFileSync(new URL("./cosign-push-vector.json", import.meta.url), "utf8"),
) as {
  docker_reference: string;
  image_digest: string;
  payload_digest: string;
  payload_size: number;
  signature: string;
  config_created: string;
  config_digest: string;
  manifest: string;
  manifest_digest: string;
};
