import { parseAllDocuments } from "yaml";
import { isObject } from "../../core/admission/review.js";
import { type ContainerImage, isWorkloadKind, workloadImages } from "../../core/admission/workload.js";

export class WorkloadFileError extends Error {
  override readonly name = "WorkloadFileError";
}

export interface Workload {
  kind: string;
  name: string;
  namespace: string;
  images: ContainerImage[];
}

/**
 * The workloads of a manifest file as `kubectl apply -f` reads it: several YAML documents, `List`s of
 * items; objects of other kinds (Services, ConfigMaps) run no images and are left out.
 */
export function readWorkloads(text: string, defaultNamespace: string): Workload[] {
  const workloads: Workload[] = [];
  const visit = (object: unknown, where: string) => {
    if (object === null || object === undefined) return;
    if (!isObject(object) || typeof object.kind !== "string")
      throw new WorkloadFileError(`${where} is not a Kubernetes object (no kind)`);
    if (object.kind === "List" || object.kind.endsWith("List")) {
      if (!Array.isArray(object.items)) throw new WorkloadFileError(`${where}: ${object.kind} without items`);
      for (const [i, item] of object.items.entries()) visit(item, `${where} item ${i + 1}`);
      return;
    }
    if (!isWorkloadKind(object.kind)) return;
    const metadata = isObject(object.metadata) ? object.metadata : {};
    workloads.push({
      kind: object.kind,
      name: typeof metadata.name === "string" ? metadata.name : "",
      namespace: typeof metadata.namespace === "string" ? metadata.namespace : defaultNamespace,
      images: workloadImages(object.kind, object),
    });
  };
  parseAllDocuments(text).forEach((document, i) => {
    if ("errors" in document && document.errors.length > 0)
      throw new WorkloadFileError(`document ${i + 1}: ${document.errors[0]?.message}`);
    visit(document.toJS(), `document ${i + 1}`);
  });
  return workloads;
}
