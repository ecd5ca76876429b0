import { randomUUID } from "node:crypto";

// AdmissionReview requests shaped as kube-apiserver 1.30 sends them: defaulted objects, requestKind,
// requestResource, userInfo with groups, options of the operation.

const USER = {
  username: "kubernetes-admin",
  uid: "aws-iam-authenticator:123456789012:AIDAEXAMPLE",
  groups: ["system:masters", "system:authenticated"],
};

function container(name: string, image: string) {
  return {
    name,
    image,
    resources: {},
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    imagePullPolicy: image.endsWith(":latest") ? "Always" : "IfNotPresent",
  };
}

type Container = ReturnType<typeof container>;

interface PodSpecLists {
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Array<Container & { stdin: boolean; tty: boolean; targetContainerName: string }>;
}

function podSpec(images: string[], extra: Partial<PodSpecLists> = {}) {
  const spec = {
    volumes: [
      {
        name: "kube-api-access-8x2lq",
        projected: {
          sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }],
          defaultMode: 420,
        },
      },
    ],
    containers: images.map((image, i) => container(`app-${i}`, image)),
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    serviceAccountName: "default",
    serviceAccount: "default",
    securityContext: {},
    schedulerName: "default-scheduler",
    tolerations: [
      {
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
    ],
    priority: 0,
    enableServiceLinks: true,
    preemptionPolicy: "PreemptLowerPriority",
  };
  return { ...spec, ...extra } as typeof spec & PodSpecLists;
}

function review<T>(opts: {
  group: string;
  version: string;
  kind: string;
  resource: string;
  name: string;
  namespace: string;
  operation?: "CREATE" | "UPDATE";
  subResource?: string;
  object: T;
  oldObject?: T;
}) {
  const gvk = { group: opts.group, version: opts.version, kind: opts.kind };
  const gvr = { group: opts.group, version: opts.version, resource: opts.resource };
  const operation = opts.operation ?? "CREATE";
  return {
    kind: "AdmissionReview",
    apiVersion: "admission.k8s.io/v1",
    request: {
      uid: randomUUID(),
      kind: gvk,
      resource: gvr,
      ...(opts.subResource ? { subResource: opts.subResource } : {}),
      requestKind: gvk,
      requestResource: gvr,
      ...(opts.subResource ? { requestSubResource: opts.subResource } : {}),
      name: opts.name,
      namespace: opts.namespace,
      operation,
      userInfo: USER,
      object: opts.object,
      oldObject: opts.oldObject ?? null,
      dryRun: false,
      options: {
        kind: operation === "CREATE" ? "CreateOptions" : "UpdateOptions",
        apiVersion: "meta.k8s.io/v1",
        ...(operation === "CREATE" ? {} : { fieldManager: "kubectl-debug" }),
      },
    },
  };
}

function metadata(name: string, namespace: string, labels: Record<string, string> = { app: name }) {
  return { name, namespace, uid: randomUUID(), creationTimestamp: null, labels };
}

export function podReview(namespace: string, images: string[], name = "web") {
  const object = {
    kind: "Pod",
    apiVersion: "v1",
    metadata: metadata(name, namespace),
    spec: podSpec(images),
    status: {},
  };
  return review({ group: "", version: "v1", kind: "Pod", resource: "pods", name, namespace, object });
}

/** `kubectl debug` adding an ephemeral container to a running pod that has an init container. */
export function ephemeralContainerReview(
  namespace: string,
  images: { container: string; init: string; ephemeral: string },
  name = "debugged",
) {
  const before = {
    kind: "Pod",
    apiVersion: "v1",
    metadata: { ...metadata(name, namespace), resourceVersion: "81234" },
    spec: podSpec([images.container], { initContainers: [container("init-schema", images.init)] }),
    status: { phase: "Running" },
  };
  const after = structuredClone(before);
  after.spec.ephemeralContainers = [
    {
      ...container("debugger-x7k2p", images.ephemeral),
      stdin: true,
      tty: true,
      targetContainerName: "app-0",
    },
  ];
  return review({
    group: "",
    version: "v1",
    kind: "Pod",
    resource: "pods",
    name,
    namespace,
    operation: "UPDATE",
    subResource: "ephemeralcontainers",
    object: after,
    oldObject: before,
  });
}

export function deploymentReview(namespace: string, images: string[], name = "api") {
  const object = {
    kind: "Deployment",
    apiVersion: "apps/v1",
    metadata: { ...metadata(name, namespace), generation: 1, annotations: {} },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { creationTimestamp: null, labels: { app: name } }, spec: podSpec(images) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {},
  };
  return review({
    group: "apps",
    version: "v1",
    kind: "Deployment",
    resource: "deployments",
    name,
    namespace,
    object,
  });
}

export function cronJobReview(namespace: string, images: string[], name = "nightly") {
  const object = {
    kind: "CronJob",
    apiVersion: "batch/v1",
    metadata: metadata(name, namespace),
    spec: {
      schedule: "0 3 * * *",
      concurrencyPolicy: "Allow",
      suspend: false,
      jobTemplate: {
        metadata: { creationTimestamp: null },
        spec: {
          template: {
            metadata: { creationTimestamp: null },
            spec: { ...podSpec(images), restartPolicy: "OnFailure" },
          },
        },
      },
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    },
    status: {},
  };
  return review({
    group: "batch",
    version: "v1",
    kind: "CronJob",
    resource: "cronjobs",
    name,
    namespace,
    object,
  });
}
