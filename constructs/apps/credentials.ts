import type { PodCredentials } from "./types";

/** The projected volume's name in every pod that reaches a bucket on another cloud. */
const TOKEN_VOLUME = "bucket-cloud-token";

/**
 * A chart's pod values for `PodCredentials` (a bucket on another cloud than the cluster's,
 * docs/design/cross-cloud.md): the SDK variables, and the service-account token projected with the
 * bucket's cloud's audience and lifetime into the path the variables name. A projected
 * `serviceAccountToken` is allowed under Pod Security `restricted` (it is not a hostPath).
 */
export function podCredentialValues(credentials: PodCredentials | undefined): { env: { name: string; value: string }[]; volumes: unknown[]; volumeMounts: unknown[] } {
  if (credentials === undefined) return { env: [], volumes: [], volumeMounts: [] };
  const { token } = credentials;
  return {
    env: Object.entries(credentials.env).map(([name, value]) => ({ name, value })),
    volumes: [{ name: TOKEN_VOLUME, projected: { sources: [{ serviceAccountToken: { audience: token.audience, expirationSeconds: token.expirationSeconds, path: token.fileName } }] } }],
    volumeMounts: [{ name: TOKEN_VOLUME, mountPath: token.mountPath, readOnly: true }],
  };
}
