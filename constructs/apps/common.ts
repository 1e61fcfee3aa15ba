/**
 * Pieces of chart values several app renderers build the same way. Key order matters: Helm
 * receives the values as JSON, so each helper keeps the order its callers rendered before.
 */
import type { NodeTaint } from "../core/interfaces";
import type { AppContext, AppIngress, AppSso, GeneratedSecret, SsoSettings, Toleration } from "./types";

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

/** The ingress the app's own chart renders: none when the SSO proxy serves its host (constructs/apps/sso.ts). */
export function chartIngress(ctx: AppContext): AppIngress | undefined {
  return ctx.sso?.mode === "proxy" ? undefined : ctx.ingress;
}

/** A JMESPath raw string literal ('...'): `\\` and `'` escaped (jmespath.org specification, "Raw String Literals"). */
function jmesRaw(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/**
 * A JMESPath expression for a claim: a bare identifier, else `@."<claim>"` (a quoted identifier
 * after the current node, so the ini value never starts with a quote, which go-ini may read as a
 * quoted value).
 */
function jmesIdentifier(text: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? text : `@.${JSON.stringify(text)}`;
}

/**
 * `grafana.ini` sections and environment of a Grafana that signs users in through the SSO
 * provider (Grafana 13 generic OAuth, pkg/login/social/connectors/generic_oauth.go and
 * conf/defaults.ini `[auth.generic_oauth]`):
 * - the endpoints explicitly (Grafana's generic OAuth does not read the discovery document):
 *   the spec's `sso.endpoints`, or a well-known provider's layout (`ssoEndpoints`);
 * - `groups_attribute_path` reads the groups claim; `allowed_groups` / `allowed_domains` refuse
 *   everyone else (both apply when both are given);
 * - `role_attribute_path`: the admin group is Admin, everyone else Viewer; `role_attribute_strict`
 *   refuses a login whose role cannot be read, `skip_org_role_sync` off so the role follows the
 *   group at every login;
 * - `auth.disable_login_form` and `auto_login`: no password form, straight to the provider. The
 *   generated admin password remains for the API (sidecars) and break-glass use through
 *   `kubectl port-forward` only if the form is re-enabled.
 * The client secret reaches Grafana as `GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET` (Grafana applies
 * `GF_<SECTION>_<KEY>` over the file: conf/defaults.ini header), never in the values.
 */
export function grafanaSsoConfig(sso: AppSso | undefined): { ini: Record<string, unknown>; envValueFrom: Record<string, unknown> } {
  if (sso === undefined) return { ini: {}, envValueFrom: {} };
  if (sso.mode !== "oidc") throw new Error("Grafana signs users in itself: its SSO mode must be oidc");
  const s = sso.settings;
  const groups = jmesIdentifier(s.groupsClaim);
  return {
    ini: {
      auth: { disable_login_form: true },
      "auth.generic_oauth": {
        enabled: true,
        name: "SSO",
        allow_sign_up: true,
        auto_login: true,
        client_id: s.clientId,
        scopes: "openid email profile",
        auth_url: s.endpoints.authorization,
        token_url: s.endpoints.token,
        api_url: s.endpoints.userinfo,
        use_pkce: true,
        use_refresh_token: true,
        email_attribute_path: "email",
        login_attribute_path: "preferred_username || email",
        groups_attribute_path: groups,
        ...(admittedGroups(s).length > 0 ? { allowed_groups: admittedGroups(s).join(",") } : {}),
        ...(s.allowedDomains.length > 0 ? { allowed_domains: s.allowedDomains.join(" ") } : {}),
        role_attribute_path: `contains(${groups} || \`[]\`, ${jmesRaw(s.adminGroup)}) && 'Admin' || 'Viewer'`,
        role_attribute_strict: true,
        allow_assign_grafana_admin: false,
        skip_org_role_sync: false,
      },
    },
    envValueFrom: { GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET: { secretKeyRef: { name: sso.clientSecret.name, key: sso.clientSecret.key } } },
  };
}

/**
 * The groups whose members may sign in when the spec restricts by group: the allowed groups and
 * the admin group. Empty without `allowedGroups` (then groups do not restrict sign-in).
 */
export function admittedGroups(settings: SsoSettings): string[] {
  return settings.allowedGroups.length === 0 ? [] : [...new Set([...settings.allowedGroups, settings.adminGroup])];
}
