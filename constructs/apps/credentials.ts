import { stringify } from "yaml";
import type { PodCredentials } from "./types";

/** The projected volume's name in every pod that reaches a bucket on another cloud. */
const TOKEN_VOLUME = "bucket-cloud-token";
/** The ConfigMap holding `PodCredentials.files`, in the app's namespace. */
const FILES_CONFIG_MAP = "bucket-cloud-credentials";

/**
 * A chart's pod values for `PodCredentials` (a bucket on another cloud than the cluster's,
 * docs/design/cross-cloud.md): the SDK variables, and one projected volume in the path the
 * variables name holding the service-account token (with the bucket's cloud's audience and
 * lifetime) and the credential files, from the ConfigMap `configMaps` describes (data as YAML text,
 * as the Airflow chart's `extraConfigMaps` takes it). Projected `serviceAccountToken` and
 * `configMap` sources are allowed under Pod Security `restricted` (neither is a hostPath).
 */
export function podCredentialValues(credentials: PodCredentials | undefined): {
  env: { name: string; value: string }[];
  volumes: unknown[];
  volumeMounts: unknown[];
  configMaps: Record<string, { data: string; useHelmHooks: boolean }>;
} {
  if (credentials === undefined) return { env: [], volumes: [], volumeMounts: [], configMaps: {} };
  const { token } = credentials;
  const files = Object.keys(credentials.files ?? {});
  const fileSources = files.length === 0 ? [] : [{ configMap: { name: FILES_CONFIG_MAP, items: files.map((key) => ({ key, path: key })) } }];
  return {
    env: Object.entries(credentials.env).map(([name, value]) => ({ name, value })),
    volumes: [{ name: TOKEN_VOLUME, projected: { sources: [{ serviceAccountToken: { audience: token.audience, expirationSeconds: token.expirationSeconds, path: token.fileName } }, ...fileSources] } }],
    volumeMounts: [{ name: TOKEN_VOLUME, mountPath: token.mountPath, readOnly: true }],
    // A release object, not a hook: it lives and goes with the release the pods belong to.
    configMaps: files.length === 0 ? {} : { [FILES_CONFIG_MAP]: { data: stringify(credentials.files, { lineWidth: 0 }), useHelmHooks: false } },
  };
}
