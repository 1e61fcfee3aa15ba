/**
 * Pieces of chart values several app renderers build the same way. Key order matters: Helm
 * receives the values as JSON, so each helper keeps the order its callers rendered before.
 */
import type { NodeTaint } from "../core/interfaces";
import type { AppContext, AppIngress, GeneratedSecret, Toleration } from "./types";

/** `value`, or an error with `message` when the app context lacks what the renderer needs. */
export function required<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new Error(message);
  return value;
}

/** A chart's `serviceAccount` block: every pod runs as the platform's account, the chart creates none. */
export function platformServiceAccount(ctx: AppContext): { create: false; name: string } {
  return { create: false, name: ctx.serviceAccount };
}

/**
 * A pod security context that Pod Security `restricted` admits (k8s.io/pod-security-admission
 * v0.31 policy/check_runAsNonRoot.go, check_runAsUser.go, check_seccompProfile_restricted.go):
 * non-root with the image's own user and group, the runtime's default seccomp profile for every
 * container. `fsGroup` lets the user write the pod's volumes.
 */
export function restrictedPodSecurityContext(uid: number, gid: number = uid): Record<string, unknown> {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: gid, fsGroup: gid, seccompProfile: { type: "RuntimeDefault" } };
}

/**
 * A container security context that Pod Security `restricted` admits on its own
 * (check_allowPrivilegeEscalation.go, check_capabilities_restricted.go, check_runAsNonRoot.go,
 * check_seccompProfile_restricted.go), for charts that render only the container's.
 */
export function restrictedContainerSecurityContext(uid?: number, gid: number | undefined = uid): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    ...(uid === undefined ? {} : { runAsUser: uid, runAsGroup: gid }),
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** The toleration of a node taint (the cluster's spot taint). */
export function tolerationOf(taint: NodeTaint): Toleration {
  return { key: taint.key, operator: "Equal", value: taint.value, effect: taint.effect };
}

/** A stateless or batch component's `tolerations`: the spot taint, as a list the values own. */
export function spotTolerations(ctx: AppContext): Toleration[] {
  return ctx.spotTolerations.map((toleration) => ({ ...toleration }));
}

/** The pod labels the cloud identity needs, as a copy the values own. */
export function identityPodLabels(ctx: AppContext): Record<string, string> {
  return { ...ctx.podLabels };
}

/** The key a chart names the ingress class under. */
type IngressClassKey = "className" | "ingressClassName";

/**
 * A chart's ingress values: `{ enabled: false }` without an ingress; otherwise enabled, with the
 * ingress class and annotations, then the chart's own host, path and TLS fields from `routing`.
 */
export function ingressValues(
  ingress: AppIngress | undefined,
  classKey: IngressClassKey,
  routing: (ingress: AppIngress) => Record<string, unknown>,
): Record<string, unknown> {
  if (!ingress) return { enabled: false };
  return { enabled: true, [classKey]: ingress.className, annotations: { ...ingress.annotations }, ...routing(ingress) };
}

/** An ingress's `tls` list: the app's host with the certificate cert-manager issues into `tlsSecretName`. */
export function ingressTls(ingress: AppIngress): { secretName: string; hosts: string[] }[] {
  return [{ secretName: ingress.tlsSecretName, hosts: [ingress.host] }];
}

const hostListRouting = (ingress: AppIngress) => ({ hosts: [ingress.host], path: "/", pathType: "Prefix", tls: ingressTls(ingress) });

/** Ingress values of charts that take a list of host names and one path (Metabase, Grafana). */
export function hostListIngress(ingress: AppIngress | undefined, classKey: IngressClassKey): Record<string, unknown> {
  return ingressValues(ingress, classKey, hostListRouting);
}

/** Login name of the Grafana admin (not a secret); the Grafana chart reads its password from a {@link grafanaSecret}. */
export const GRAFANA_ADMIN_USER = "admin";

/** Keys of a {@link grafanaSecret}: the admin password, and the key Grafana encrypts datasource credentials with. */
const GRAFANA_SECRET_KEYS = { adminPassword: "admin-password", secretKey: "secret-key" } as const;

/** A Grafana's generated Secret (the built-in secret key is public; never change it once set). */
export function grafanaSecret(name: string): GeneratedSecret {
  return {
    name,
    keys: {
      [GRAFANA_SECRET_KEYS.adminPassword]: { length: 32, encoding: "hex" },
      [GRAFANA_SECRET_KEYS.secretKey]: { length: 32, encoding: "hex" },
    },
  };
}

/** The Grafana chart's `admin` block: the admin password from a {@link grafanaSecret}. */
export function grafanaAdmin(secret: GeneratedSecret): { existingSecret: string; passwordKey: string } {
  return { existingSecret: secret.name, passwordKey: GRAFANA_SECRET_KEYS.adminPassword };
}

/** The `envValueFrom` entry for `GF_SECURITY_SECRET_KEY`, from a {@link grafanaSecret}. */
export function grafanaSecretKeyRef(secret: GeneratedSecret): { secretKeyRef: { name: string; key: string } } {
  return { secretKeyRef: { name: secret.name, key: GRAFANA_SECRET_KEYS.secretKey } };
}

/** `grafana.ini` sections for a Grafana served at the ingress's host over TLS. */
export function grafanaIniBehindIngress(ingress: AppIngress): { server: { root_url: string }; security: { cookie_secure: true } } {
  return { server: { root_url: `https://${ingress.host}/` }, security: { cookie_secure: true } };
}
