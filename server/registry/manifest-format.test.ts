import { RegistryError } from "./errors.js";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifest,
} from "./manifest-format.js";

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const bytes = (value: object) => Buffer.from(JSON.stringify(value));
const config = { mediaType: "application/vnd.oci.image.config.v1+json", digest: d(1), size: 10 };
const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: d(2), size: 20 };

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof RegistryError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return "accepted";
}

describe("parseManifest", () => {
  it("reads an image manifest's blobs, subject and annotations; its config type is its artifactType", () => {
    const parsed = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config,
        layers: [layer],
        subject: { ...layer, digest: d(3) },
        annotations: { a: "b" },
      }),
      OCI_MANIFEST,
    );
    expect(parsed).toEqual({
      mediaType: OCI_MANIFEST,
      blobs: [d(1), d(2)],
      manifests: [],
      subject: d(3),
      artifactType: config.mediaType,
      annotations: { a: "b" },
    });
  });

  it("prefers the manifest's own artifactType", () => {
    const parsed = parseManifest(
      bytes({ schemaVersion: 2, artifactType: "application/x-sig", config, layers: [] }),
      OCI_MANIFEST,
    );
    expect(parsed.artifactType).toBe("application/x-sig");
  });

  it.each([OCI_INDEX, DOCKER_MANIFEST_LIST])(
    "reads a %s's entries as manifests the repository must hold",
    (type) => {
      const parsed = parseManifest(
        bytes({ schemaVersion: 2, mediaType: type, manifests: [{ ...config, digest: d(4) }] }),
        type,
      );
      expect(parsed).toEqual({
        mediaType: type,
        blobs: [],
        manifests: [d(4)],
        subject: undefined,
        artifactType: undefined,
        annotations: undefined,
      });
    },
  );

  it("leaves foreign layers with URLs out of the blobs to check, but not foreign layers without", () => {
    const foreign = {
      mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      digest: d(5),
      size: 1,
    };
    const manifest = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config,
      layers: [
        { ...foreign, urls: ["https://example.com/l"] },
        { ...foreign, digest: d(6) },
      ],
    };
    expect(parseManifest(bytes(manifest), DOCKER_MANIFEST).blobs).toEqual([d(1), d(6)]);
  });

  it("takes the manifest's mediaType when the Content-Type is generic or missing", () => {
    const manifest = bytes({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config, layers: [] });
    expect(parseManifest(manifest, "application/json").mediaType).toBe(DOCKER_MANIFEST);
    expect(parseManifest(manifest, undefined).mediaType).toBe(DOCKER_MANIFEST);
    expect(refusal(() => parseManifest(bytes({ schemaVersion: 2, config, layers: [] }), undefined))).toMatch(
      /^MANIFEST_INVALID: unsupported manifest media type/,
    );
  });

  it("accepts other OCI types only when they are shaped as image manifests", () => {
    const type = "application/vnd.oci.example.v1+json";
    expect(parseManifest(bytes({ schemaVersion: 2, config, layers: [] }), type).mediaType).toBe(type);
    expect(refusal(() => parseManifest(bytes({ schemaVersion: 2, blobs: [] }), type))).toMatch(
      /^MANIFEST_INVALID: .*config and layers/,
    );
  });

  it("refuses what is not a manifest with MANIFEST_INVALID", () => {
    const cases: Array<[string, Buffer, string | undefined]> = [
      ["not JSON", Buffer.from("{"), OCI_MANIFEST],
      ["a string", bytes(["x"]), OCI_MANIFEST],
      ["unknown type", bytes({ schemaVersion: 2, config, layers: [] }), "text/plain"],
      [
        "mediaType and Content-Type disagree",
        bytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }),
        OCI_MANIFEST,
      ],
      ["schema 1", bytes({ schemaVersion: 1, config, layers: [] }), OCI_MANIFEST],
      ["layers not a list", bytes({ schemaVersion: 2, config, layers: {} }), OCI_MANIFEST],
      [
        "descriptor without size",
        bytes({ schemaVersion: 2, config: { ...config, size: undefined }, layers: [] }),
        OCI_MANIFEST,
      ],
      [
        "fractional size",
        bytes({ schemaVersion: 2, config: { ...config, size: 1.5 }, layers: [] }),
        OCI_MANIFEST,
      ],
      [
        "unsupported digest",
        bytes({ schemaVersion: 2, config: { ...config, digest: "md5:00" }, layers: [] }),
        OCI_MANIFEST,
      ],
      [
        "artifactType not a string",
        bytes({ schemaVersion: 2, artifactType: 1, config, layers: [] }),
        OCI_MANIFEST,
      ],
      [
        "subject not a descriptor",
        bytes({ schemaVersion: 2, subject: "x", config, layers: [] }),
        OCI_MANIFEST,
      ],
    ];
    for (const [what, body, type] of cases)
      expect([what, refusal(() => parseManifest(body, type))]).toEqual([
        what,
        expect.stringMatching(/^MANIFEST_INVALID: /),
      ]);
  });
});
