import { APP_CATALOGUE, untrustedAccount, type AppName } from "../../constructs/core/apps";
import { parseEnvironment, type Cloud } from "../../constructs/core/spec";
import { scaledResources } from "../../constructs/apps/scale";
import type { AppBucket, AppContext } from "../../constructs/apps/types";
import { tolerationOf } from "../../constructs/apps/common";
import type { NodeTaint } from "../../constructs/core/interfaces";
import { EKS_SPOT_TAINT } from "../../constructs/aws/cluster";
import { AKS_SPOT_TAINT } from "../../constructs/azure/cluster";
import { GKE_SPOT_TAINT } from "../../constructs/gcp/cluster";
import { baseSpec } from "./fixtures";

const SPOT_TAINTS: Readonly<Record<Cloud, NodeTaint>> = { aws: EKS_SPOT_TAINT, azure: AKS_SPOT_TAINT, gcp: GKE_SPOT_TAINT };

const BUCKETS: Readonly<Record<Cloud, AppBucket>> = {
  aws: { cloud: "aws", url: "s3://test-logs-123456789012", name: "test-logs-123456789012", region: "eu-central-1" },
  azure: { cloud: "azure", url: "abfss://logs@testdata1a2b3c.dfs.core.windows.net", name: "logs", storageAccount: "testdata1a2b3c" },
  gcp: { cloud: "gcp", url: "gs://test-logs-1a2b3c4d", name: "test-logs-1a2b3c4d", region: "europe-west1" },
};

const POD_LABELS: Readonly<Record<Cloud, Record<string, string>>> = {
  aws: {},
  azure: { "azure.workload.identity/use": "true" },
  gcp: {},
};

/** A realistic context for rendering one app on one cloud, production or not. */
export function appContext(app: AppName, cloud: Cloud, production: boolean): AppContext {
  const env = parseEnvironment({ ...baseSpec(), name: production ? "live" : "test", production });
  const needs = APP_CATALOGUE[app];
  const size = production ? "medium" : "small";
  const untrusted = untrustedAccount(app, cloud);
  return {
    env,
    app,
    size,
    namespace: needs.namespace,
    serviceAccount: needs.serviceAccount,
    podLabels: POD_LABELS[cloud],
    ...(untrusted ? { untrustedAccount: { serviceAccount: untrusted.serviceAccount, podLabels: untrusted.cloudIdentity ? POD_LABELS[cloud] : {} } } : {}),
    database: needs.database
      ? { host: `${app}-db.internal.example`, port: 5432, name: app, user: app, secretName: `${app}-database` }
      : undefined,
    bucket: needs.bucket ? BUCKETS[cloud] : undefined,
    ingress: {
      host: `${app}.data.example.com`,
      className: "traefik",
      tlsSecretName: `${app}-tls`,
      annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
    },
    replicas: production ? 2 : 1,
    disruptionBudgets: production,
    resources: (base) => scaledResources(base, size),
    spotTolerations: [tolerationOf(SPOT_TAINTS[cloud])],
  };
}
