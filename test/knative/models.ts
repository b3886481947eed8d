import { Broker } from "@kubernetes-models/knative/eventing.knative.dev/v1/Broker";
import { Trigger } from "@kubernetes-models/knative/eventing.knative.dev/v1/Trigger";
import { Service as KnativeService } from "@kubernetes-models/knative/serving.knative.dev/v1/Service";
import { PingSource } from "@kubernetes-models/knative/sources.knative.dev/v1/PingSource";
import { SinkBinding } from "@kubernetes-models/knative/sources.knative.dev/v1/SinkBinding";
import { ValidatingAdmissionPolicy } from "kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy";
import { ValidatingAdmissionPolicyBinding } from "kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";

interface Model {
  validate(): void;
}
export type ModelClass = new (data: never) => Model;

// Every kind the manifests (and the clusters' recordings) may use, with the schema it is checked against. A kind missing here
// fails the test: nothing is shipped unchecked.
export const MODELS: Record<string, ModelClass> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Secret": Secret,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/StatefulSet": StatefulSet,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy": ValidatingAdmissionPolicy,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding":
    ValidatingAdmissionPolicyBinding,
  "serving.knative.dev/v1/Service": KnativeService,
  "sources.knative.dev/v1/PingSource": PingSource,
  "sources.knative.dev/v1/SinkBinding": SinkBinding,
  "eventing.knative.dev/v1/Broker": Broker,
  "eventing.knative.dev/v1/Trigger": Trigger,
};

/** Throws what the schema refuses, or that the kind has no schema here. */
export function validateObject(
  doc: Record<string, unknown> & { apiVersion?: unknown; kind?: unknown },
): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`no schema registered for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc as never).validate();
}
