import { admissionResponse, MalformedReviewError, parseAdmissionReview } from "./review.js";

const valid = {
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    namespace: "default",
    name: "web",
    operation: "CREATE",
    userInfo: { username: "alice", groups: ["system:authenticated"] },
    object: { spec: { containers: [] } },
    oldObject: null,
    dryRun: false,
  },
};

describe("AdmissionReview", () => {
  it("reads what the webhook needs from a kube-apiserver request", () => {
    expect(parseAdmissionReview(valid)).toEqual({
      uid: valid.request.uid,
      kind: { group: "", version: "v1", kind: "Pod" },
      name: "web",
      namespace: "default",
      operation: "CREATE",
      userInfo: { username: "alice" },
      object: valid.request.object,
      oldObject: null,
      dryRun: false,
    });
  });

  it.each([
    ["not an object", [], /not a JSON object/],
    ["v1beta1", { ...valid, apiVersion: "admission.k8s.io/v1beta1" }, /apiVersion/],
    ["a response", { ...valid, request: undefined, response: {} }, /request is missing/],
    ["an empty uid", { ...valid, request: { ...valid.request, uid: "" } }, /uid/],
    ["an unknown operation", { ...valid, request: { ...valid.request, operation: "PATCH" } }, /operation/],
    ["no object on CREATE", { ...valid, request: { ...valid.request, object: null } }, /object is required/],
    ["a namespace that is a number", { ...valid, request: { ...valid.request, namespace: 7 } }, /namespace/],
  ])("refuses %s", (_what, body, message) => {
    expect(() => parseAdmissionReview(body)).toThrow(MalformedReviewError);
    expect(() => parseAdmissionReview(body)).toThrow(message);
  });

  it("answers with the request's uid, a 403 status on denial, and the patch base64-encoded", () => {
    expect(admissionResponse("u1", { allowed: false, message: "no", patch: [] })).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "u1", allowed: false, status: { code: 403, reason: "Forbidden", message: "no" } },
    });
    const patch = [{ op: "replace" as const, path: "/spec/containers/0/image", value: "a@sha256:1" }];
    const allowed = admissionResponse("u2", { allowed: true, patch, warnings: ["careful"] }) as {
      response: { patch: string; patchType: string; warnings: string[] };
    };
    expect(allowed.response.patchType).toBe("JSONPatch");
    expect(allowed.response.warnings).toEqual(["careful"]);
    expect(JSON.parse(Buffer.from(allowed.response.patch, "base64").toString())).toEqual(patch);
  });
});
