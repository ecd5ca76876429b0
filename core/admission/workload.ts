import { isObject, MalformedReviewError } from "./review.js";

export type ContainerList = "containers" | "initContainers" | "ephemeralContainers";
const CONTAINER_LISTS: readonly ContainerList[] = ["containers", "initContainers", "ephemeralContainers"];

/** One image a workload would run, and where it sits in the object (an RFC 6901 JSON pointer). */
export interface ContainerImage {
  image: string;
  container: string;
  list: ContainerList;
  pointer: string;
}

/** Where each kind keeps its pod spec: the kinds whose images an admission check reads. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ["spec"],
  Deployment: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
  ReplicationController: ["spec", "template", "spec"],
};

export function isWorkloadKind(kind: string): boolean {
  return kind in POD_SPEC_PATHS;
}

function podSpec(
  kind: string,
  object: unknown,
): { spec: Record<string, unknown>; pointer: string } | undefined {
  const path = POD_SPEC_PATHS[kind];
  if (!path) return undefined;
  let node: unknown = object;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  if (node === undefined || node === null) return undefined;
  if (!isObject(node)) throw new MalformedReviewError(`${kind} .${path.join(".")} is not an object`);
  return { spec: node, pointer: `/${path.join("/")}` };
}

/** Every image of a workload object: containers, init containers and ephemeral containers, in order. */
export function workloadImages(kind: string, object: unknown): ContainerImage[] {
  const found = podSpec(kind, object);
  if (!found) return [];
  const images: ContainerImage[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = found.spec[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new MalformedReviewError(`${list} of the ${kind} is not a list`);
    containers.forEach((container, index) => {
      if (!isObject(container) || typeof container.image !== "string")
        throw new MalformedReviewError(`${list}[${index}] of the ${kind} has no image`);
      images.push({
        image: container.image,
        container: typeof container.name === "string" ? container.name : `${index}`,
        list,
        pointer: `${found.pointer}/${list}/${index}/image`,
      });
    });
  }
  return images;
}

/** The names of the pull secrets the pod spec lists; their contents live in the cluster, not the review. */
export function imagePullSecretNames(kind: string, object: unknown): string[] {
  const secrets = podSpec(kind, object)?.spec.imagePullSecrets;
  if (!Array.isArray(secrets)) return [];
  return secrets.flatMap((s) => (isObject(s) && typeof s.name === "string" ? [s.name] : []));
}
