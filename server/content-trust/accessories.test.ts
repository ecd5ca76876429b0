import { isAccessory } from "./accessories.js";

const manifest = (body: object) => ({ content: Buffer.from(JSON.stringify(body)) });
const IMAGE_CONFIG = { mediaType: "application/vnd.oci.image.config.v1+json" };
const layer = (mediaType: string) => ({ mediaType, digest: `sha256:${"a".repeat(64)}`, size: 1 });

describe("accessories", () => {
  const image = manifest({
    config: IMAGE_CONFIG,
    layers: [layer("application/vnd.oci.image.layer.v1.tar+gzip")],
  });
  const signature = manifest({
    config: IMAGE_CONFIG,
    layers: [layer("application/vnd.dev.cosign.simplesigning.v1+json")],
  });
  const artifact = manifest({
    config: { mediaType: "application/vnd.example.sbom" },
    layers: [layer("application/json")],
    subject: layer(""),
  });
  const imageWithSubject = manifest({ config: IMAGE_CONFIG, layers: [layer("x")], subject: layer("") });

  it("tells signatures and referrer artifacts from images, the same each time a manifest is asked", () => {
    for (let round = 0; round < 2; round++) {
      expect(isAccessory(image)).toBe(false);
      expect(isAccessory(signature)).toBe(true);
      expect(isAccessory(artifact)).toBe(true);
      expect(isAccessory(imageWithSubject)).toBe(false);
      expect(isAccessory({ content: Buffer.from("not json") })).toBe(false);
    }
  });

  it("reads a manifest that is a view into a larger buffer by its own bytes only", () => {
    const bytes = Buffer.from(
      JSON.stringify({ layers: [layer("application/vnd.dev.cosign.simplesigning.v1+json")] }),
    );
    const larger = Buffer.concat([Buffer.from("{{{{"), bytes, Buffer.from("}}}}")]);
    expect(isAccessory({ content: larger.subarray(4, 4 + bytes.length) })).toBe(true);
  });
});
