import { MalformedReviewError } from "./review.js";
import { imagePullSecretNames, workloadImages } from "./workload.js";

const spec = (images: string[]) => ({
  initContainers: [{ name: "init", image: images[0] }],
  containers: images.slice(1).map((image, i) => ({ name: `c${i}`, image })),
  imagePullSecrets: [{ name: "regcred" }],
});

describe("workload images", () => {
  it.each([
    ["Pod", { spec: spec(["i", "a"]) }, "/spec"],
    ["Deployment", { spec: { template: { spec: spec(["i", "a"]) } } }, "/spec/template/spec"],
    ["ReplicaSet", { spec: { template: { spec: spec(["i", "a"]) } } }, "/spec/template/spec"],
    ["StatefulSet", { spec: { template: { spec: spec(["i", "a"]) } } }, "/spec/template/spec"],
    ["DaemonSet", { spec: { template: { spec: spec(["i", "a"]) } } }, "/spec/template/spec"],
    ["Job", { spec: { template: { spec: spec(["i", "a"]) } } }, "/spec/template/spec"],
    [
      "CronJob",
      { spec: { jobTemplate: { spec: { template: { spec: spec(["i", "a"]) } } } } },
      "/spec/jobTemplate/spec/template/spec",
    ],
  ])("reads the containers of a %s with their JSON pointers", (kind, object, base) => {
    expect(workloadImages(kind, object)).toEqual([
      { image: "a", container: "c0", list: "containers", pointer: `${base}/containers/0/image` },
      { image: "i", container: "init", list: "initContainers", pointer: `${base}/initContainers/0/image` },
    ]);
    expect(imagePullSecretNames(kind, object)).toEqual(["regcred"]);
  });

  it("reads ephemeral containers, and nothing from kinds that run no images", () => {
    const pod = {
      spec: {
        containers: [{ name: "a", image: "a" }],
        ephemeralContainers: [{ name: "dbg", image: "busybox" }],
      },
    };
    expect(workloadImages("Pod", pod).map((i) => i.pointer)).toEqual([
      "/spec/containers/0/image",
      "/spec/ephemeralContainers/0/image",
    ]);
    expect(workloadImages("ConfigMap", { data: {} })).toEqual([]);
  });

  it("refuses a pod spec whose containers are malformed", () => {
    expect(() => workloadImages("Pod", { spec: { containers: [{ name: "x" }] } })).toThrow(
      MalformedReviewError,
    );
    expect(() => workloadImages("Pod", { spec: "nope" })).toThrow(MalformedReviewError);
  });
});
