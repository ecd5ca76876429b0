/** The signer's HTTP contract, shared by the signer service and the trust server's client. */
export type KeyAlgorithm = "ecdsa" | "ed25519";

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ["ecdsa", "ed25519"];

/**
 * Signature methods as notary writes them in metadata. Its verifiers know Ed25519 signatures only as
 * `eddsa`: a signature marked `ed25519` is rejected by the notary and docker clients.
 */
export type SignatureMethod = "ecdsa" | "eddsa";

export const SIGNATURE_METHODS: Readonly<Record<KeyAlgorithm, SignatureMethod>> = {
  ecdsa: "ecdsa",
  ed25519: "eddsa",
};

/** A public key as TUF and notary write it in root.json and key responses. */
export interface TufPublicKey {
  keytype: string;
  keyval: { public: string; private: null };
}

/** Answer to `POST /v1/keys` and `GET /v1/keys/:keyId`. */
export interface KeyResponse {
  keyId: string;
  algorithm: KeyAlgorithm;
  publicKey: TufPublicKey;
}

/** Answer to `POST /v1/keys/:keyId/sign`; the signature is base64. */
export interface SignResponse {
  keyId: string;
  method: SignatureMethod;
  signature: string;
}

export interface ErrorResponse {
  error: { code: string; message: string };
}
