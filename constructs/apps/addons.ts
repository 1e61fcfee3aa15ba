import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktn";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { WORKLOAD_ACCOUNTS, type AddonName } from "../core/apps";
import type { ClusterServices } from "../core/interfaces";
import type { Environment } from "../core/spec";
import { tolerationOf } from "./common";
import { HelmRelease, ManifestsRelease, type Manifest } from "./helm";
import type { ChartRef, PodSecurityLevel } from "./types";

/** Add-on charts, pinned (newest stable releases, checked against their repositories). */
export const ADDON_CHARTS = {
  externalSecrets: { repository: "https://charts.external-secrets.io", chart: "external-secrets", version: "2.9.0" },
  certManager: { repository: "oci://quay.io/jetstack/charts", chart: "cert-manager", version: "v1.21.1" },
  traefik: { repository: "https://traefik.github.io/charts", chart: "traefik", version: "41.3.0" },
  externalDns: { repository: "https://kubernetes-sigs.github.io/external-dns/", chart: "external-dns", version: "1.21.1" },
} as const satisfies Record<string, ChartRef>;

/** The ClusterSecretStore that reads the cloud's secret store (admin credentials only). */
export const CLOUD_SECRET_STORE = "cloud-secrets";
/** The ingress class every app UI uses. */
export const INGRESS_CLASS = "traefik";
/** The cert-manager ClusterIssuer for app certificates (Let's Encrypt, HTTP-01 through Traefik). */
export const CLUSTER_ISSUER = "letsencrypt";
/** Namespace of Traefik, the ingress controller. */
export const INGRESS_NAMESPACE = "ingress";
/** Namespace of cert-manager (every environment). */
export const CERT_MANAGER_NAMESPACE = "cert-manager";

/** Namespace of the database bootstrap jobs and the credentials they create. */
export const DATABASE_BOOTSTRAP_NAMESPACE = "db-bootstrap";

/** Annotation on a namespace that enforces less than `restricted`, saying which pod needs it and why. */
export const POD_SECURITY_REASON_ANNOTATION = "platform/pod-security-reason";

/**
 * Namespace labels: the Pod Security level enforced, `restricted` unless a pod of the namespace
 * cannot meet it (`NamespacePodSecurity`, `PrivilegedNamespace`, each with its reason), and
 * "restricted" warned so any gap stays visible.
 */
export function namespaceLabels(level: PodSecurityLevel = "restricted"): Record<string, string> {
  return { "pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/warn": "restricted" };
}

/**
 * Every plain-HTTP request is redirected permanently to HTTPS, at the `web` entry point, except
 * ACME HTTP-01 challenges: cert-manager's solver Ingress must answer
 * `/.well-known/acme-challenge/<token>` on port 80 (its self-check and Let's Encrypt ask there).
 * - traefik-helm-chart v41.3.0 traefik/templates/_podtemplate.tpl: `ports.<name>.http.redirections.entryPoint`
 *   becomes `--entryPoints.web.http.redirections.entryPoint.to=:<ports[to].exposedPort>`, `.scheme`,
 *   `.permanent`; the template fails when `to` is not a key of `ports`, or when the target's
 *   `http.tls.enabled` is set and `scheme` is not https; `ports.web.allowACMEByPass` becomes
 *   `--entryPoints.web.allowACMEByPass=true`. values.yaml: `ports.websecure.exposedPort` 443,
 *   `ports.websecure.http.tls.enabled` true.
 * - traefik v3.7.9 pkg/provider/traefik/internal.go (redirection routers; chart 41.3.0 deploys
 *   v3.7.11, traefik-helm-chart v41.3.0 traefik/Chart.yaml `appVersion`, whose redirect code is
 *   the same; v3.7.9 is the newest tag of the mirror read): with `allowACMEByPass`
 *   the redirect router's rule is `HostRegexp(`^.+$`) && !PathPrefix(`/.well-known/acme-challenge/`)`,
 *   so the solver's Ingress keeps the challenge path on HTTP (docs/content/reference/
 *   install-configuration/entrypoints.md, "allowACMEByPass").
 */
export const TRAEFIK_PORTS = {
  web: {
    allowACMEByPass: true,
    http: { redirections: { entryPoint: { to: "websecure", scheme: "https", permanent: true } } },
  },
} as const;

export interface PlatformAddonsProps {
  readonly env: Environment;
  readonly services: ClusterServices;
}

/**
 * What every app relies on, installed once per cluster:
 * - External Secrets Operator (2 replicas and PDBs in production) with a ClusterSecretStore on
 *   the cloud's secret store, reached through the operator's own workload identity;
 * - Traefik as the ingress controller (ingress-nginx was retired in March 2026), behind the
 *   cloud's load balancer, 2 replicas and a PDB in production;
 * - cert-manager (for the apps' in-cluster certificates), with a Let's Encrypt ClusterIssuer
 *   when the spec has `dns`;
 * - external-dns, with its own identity limited to the zone, when the spec names `dns.zone`.
 */
export class PlatformAddons extends Construct {
  /** Everything app releases must wait for. */
  readonly ready: ITerraformDependable[];

  constructor(scope: Construct, id: string, props: PlatformAddonsProps) {
    super(scope, id);
    const { env, services } = props;
    const replicas = env.production ? 2 : 1;
    const disruptionBudget = { enabled: env.production, minAvailable: 1 };
    // Every add-on is stateless (its state is in Kubernetes objects) and may run on spot nodes,
    // except the admission webhooks: they fail closed, so while one is down the API server refuses
    // every ExternalSecret or certificate object, and applies of the wiring fail with it.
    const tolerations = [tolerationOf(services.spotTaint)];

    const addonAccount = (name: AddonName) => {
      const account = WORKLOAD_ACCOUNTS[name];
      const binding = services.workloadBinding(name);
      const namespace = new NamespaceV1(this, `${name}-namespace`, { metadata: { name: account.namespace, labels: namespaceLabels() } });
      new ServiceAccountV1(this, `${name}-service-account`, {
        metadata: {
          name: account.serviceAccount,
          namespace: namespace.metadata.name,
          annotations: { ...binding.serviceAccountAnnotations },
          labels: { ...binding.podLabels },
        },
      });
      return { namespace: account.namespace, serviceAccount: account.serviceAccount, podLabels: binding.podLabels, created: namespace };
    };

    const eso = addonAccount("external-secrets");
    const externalSecrets = new HelmRelease(this, "external-secrets", {
      name: "external-secrets",
      namespace: eso.namespace,
      chart: ADDON_CHARTS.externalSecrets,
      values: {
        installCRDs: true,
        replicaCount: replicas,
        leaderElect: replicas > 1,
        podDisruptionBudget: disruptionBudget,
        serviceAccount: { create: false, name: eso.serviceAccount },
        podLabels: eso.podLabels,
        tolerations,
        webhook: { replicaCount: replicas, podDisruptionBudget: disruptionBudget },
        certController: { replicaCount: replicas, podDisruptionBudget: disruptionBudget, tolerations },
        /**
         * The controller's metrics Service (`<fullname>-metrics`, port `metrics`), scraped by the
         * observability release (scrape.ts): the chart's own ServiceMonitor would need the
         * Prometheus Operator CRDs, which install after this release.
         */
        metrics: { service: { enabled: true } },
      },
      dependsOn: [eso.created],
    });
    // The cloud's own store, and one per other cloud that holds databases; only the bootstrap namespace may read admin credentials through them.
    const adminStores: Manifest[] = [{ name: CLOUD_SECRET_STORE, provider: services.secretStoreProvider() }, ...(services.adminSecretStores ?? [])].map((store) => ({
      apiVersion: "external-secrets.io/v1",
      kind: "ClusterSecretStore",
      metadata: { name: store.name },
      spec: { provider: store.provider, conditions: [{ namespaces: [DATABASE_BOOTSTRAP_NAMESPACE] }] },
    }));
    const bootstrapNamespace = new NamespaceV1(this, "db-bootstrap-namespace", {
      metadata: { name: DATABASE_BOOTSTRAP_NAMESPACE, labels: namespaceLabels() },
    });
    const stores = new ManifestsRelease(this, "secret-stores", {
      name: "secret-stores",
      namespace: eso.namespace,
      manifests: adminStores,
      dependsOn: [externalSecrets.release, bootstrapNamespace],
    });

    const ingressNamespace = new NamespaceV1(this, "ingress-namespace", { metadata: { name: INGRESS_NAMESPACE, labels: namespaceLabels() } });
    const traefik = new HelmRelease(this, "traefik", {
      name: "traefik",
      namespace: INGRESS_NAMESPACE,
      chart: ADDON_CHARTS.traefik,
      values: {
        deployment: { replicas },
        podDisruptionBudget: { enabled: env.production, minAvailable: 1 },
        ingressClass: { enabled: true, isDefaultClass: true, name: INGRESS_CLASS },
        providers: { kubernetesIngress: { publishedService: { enabled: true } } },
        /**
         * traefik-helm-chart v41.3.0 templates/_service.tpl `traefik.service-spec` writes
         * `service.spec` into the Service as it is (values.yaml default `spec.type: LoadBalancer`;
         * a top-level `service.type` is read by no template). `externalTrafficPolicy: Local`: the
         * cloud load balancer sends clients only to nodes that run Traefik (its health check on
         * the Service's healthCheckNodePort), so Traefik sees the client's address rather than a
         * forwarding node's (Cilium: cilium/cilium Documentation/security/policy/caveats.rst,
         * "Security Identity for N/S Service Traffic"), for its access logs and the
         * NetworkPolicies (network-policies.ts `clients`).
         */
        service: { spec: { type: "LoadBalancer", externalTrafficPolicy: "Local" } },
        ports: TRAEFIK_PORTS,
        /**
         * Prometheus metrics stay on the `metrics` entry point (port 9100, not exposed on the load
         * balancer); this adds the ClusterIP Service `<fullname>-metrics` that scrape.ts selects.
         * The chart's ServiceMonitor stays off: its CRD installs after this release.
         */
        metrics: { prometheus: { service: { enabled: true } } },
        tolerations,
      },
      dependsOn: [ingressNamespace],
    });
    this.ready = [stores.release, traefik.release];

    // cert-manager on every cluster: the apps' in-cluster TLS (DataHub's OpenSearch) is issued by
    // namespaced CA Issuers; the Let's Encrypt ClusterIssuer for the UIs only comes with `dns`.
    const certNamespace = new NamespaceV1(this, "cert-manager-namespace", { metadata: { name: CERT_MANAGER_NAMESPACE, labels: namespaceLabels() } });
    const certManager = new HelmRelease(this, "cert-manager", {
      name: "cert-manager",
      namespace: CERT_MANAGER_NAMESPACE,
      chart: ADDON_CHARTS.certManager,
      values: {
        crds: { enabled: true, keep: true },
        replicaCount: replicas,
        podDisruptionBudget: { enabled: env.production },
        tolerations,
        webhook: { replicaCount: replicas, podDisruptionBudget: { enabled: env.production } },
        cainjector: { replicaCount: replicas, podDisruptionBudget: { enabled: env.production }, tolerations },
        startupapicheck: { tolerations },
        /**
         * The controller's metrics Service (`cert-manager`, port `http-metrics`); its chart
         * ServiceMonitor stays off (CRD installs later), scrape.ts selects the Service.
         */
        prometheus: { enabled: true, servicemonitor: { enabled: false }, podmonitor: { enabled: false } },
      },
      dependsOn: [certNamespace],
    });
    this.ready.push(certManager.release);
    if (env.dns !== undefined) {
      const issuer = new ManifestsRelease(this, "cluster-issuer", {
        name: "cluster-issuer",
        namespace: "cert-manager",
        manifests: [
          {
            apiVersion: "cert-manager.io/v1",
            kind: "ClusterIssuer",
            metadata: { name: CLUSTER_ISSUER },
            spec: {
              acme: {
                server: "https://acme-v02.api.letsencrypt.org/directory",
                email: env.dns.acmeEmail,
                privateKeySecretRef: { name: `${CLUSTER_ISSUER}-account-key` },
                solvers: [{ http01: { ingress: { ingressClassName: INGRESS_CLASS } } }],
              },
            },
          },
        ],
        dependsOn: [certManager.release, traefik.release],
      });
      this.ready.push(issuer.release);
    }

    if (env.dns?.zone !== undefined) {
      const dns = addonAccount("external-dns");
      const setup = services.externalDns(env.dns.zone);
      const configMaps = Object.entries(setup.configMaps).map(
        ([name, data]) => new ConfigMapV1(this, `external-dns-${name}`, { metadata: { name, namespace: dns.namespace }, data: { ...data }, dependsOn: [dns.created] }),
      );
      const externalDns = new HelmRelease(this, "external-dns", {
        name: "external-dns",
        namespace: dns.namespace,
        chart: ADDON_CHARTS.externalDns,
        values: {
          ...setup.values,
          serviceAccount: { create: false, name: dns.serviceAccount },
          podLabels: dns.podLabels,
          sources: ["ingress"],
          tolerations,
        },
        dependsOn: [dns.created, ...configMaps, traefik.release],
      });
      this.ready.push(externalDns.release);
    }
  }
}
