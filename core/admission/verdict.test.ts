import { aggregate, type ImageVerdict, pinningPatch } from "./verdict.js";

const verdict = (over: Partial<ImageVerdict>): ImageVerdict => ({
  image: "app:v1",
  container: "app",
  list: "containers",
  pointer: "/spec/containers/0/image",
  decision: "admit",
  reasons: ["signed in Notary"],
  ...over,
});

describe("verdicts", () => {
  it("refuses when any image is denied, naming each refused image, its container and why", () => {
    const answer = aggregate([
      verdict({ pinned: "app@sha256:1" }),
      verdict({
        image: "init:v1",
        list: "initContainers",
        container: "init",
        decision: "deny",
        reasons: ["not signed"],
      }),
      verdict({
        image: "dbg:v1",
        list: "ephemeralContainers",
        container: "dbg",
        decision: "deny",
        reasons: ["x", "y"],
      }),
    ]);
    expect(answer).toEqual({
      allowed: false,
      message:
        'trustdock refused 2 images: image init:v1 (init container "init"): not signed. image dbg:v1 (ephemeral container "dbg"): x; y',
      warnings: [],
    });
  });

  it("admits with warnings for images a warn rule let through, and pins admitted and warned images", () => {
    const verdicts = [
      verdict({ pinned: "app@sha256:1" }),
      verdict({
        image: "b:1",
        pointer: "/spec/containers/1/image",
        decision: "warn",
        reasons: ["not signed"],
        pinned: "b@sha256:2",
      }),
      verdict({ image: "c@sha256:3", pointer: "/spec/containers/2/image", pinned: "c@sha256:3" }),
      verdict({ image: "d:1", pointer: "/spec/containers/3/image", reasons: ["exempt"] }),
    ];
    expect(aggregate(verdicts)).toEqual({
      allowed: true,
      warnings: ['trustdock: image b:1 (container "app") would be refused: not signed'],
    });
    expect(pinningPatch(verdicts)).toEqual([
      { op: "replace", path: "/spec/containers/0/image", value: "app@sha256:1" },
      { op: "replace", path: "/spec/containers/1/image", value: "b@sha256:2" },
    ]);
  });
});
