/**
 * Single sign-on for every app UI through the team's OIDC provider (`sso` in the spec; README,
 * "Single sign-on").
 *
 * Who signs users in:
 * - `oidc`: the app itself (Grafana's generic OAuth, the monitoring release's Grafana, DataHub's
 *   frontend, Airflow's FAB auth manager), with the client secret synced into its namespace;
 * - `proxy`: an oauth2-proxy in the `sso` namespace serves the app's host (the app's chart then
 *   renders no Ingress) and forwards only signed-in, allowed users to the app's Service: Metabase
 *   and Airbyte (no OIDC in their free editions; see `SSO_MODES`).
 *
 * The client secret: the `sso` namespace's SecretStore authenticates as `sso/sso-secrets`, whose
 * cloud identity (created by `<env>-infra`) may read the spec's `sso.clientSecret` and nothing
 * else (stacks/infra.ts, `specSecretNamesFor(env, "sso-secrets")`). Each `oidc` app's namespace
 * then reads that one Kubernetes Secret from the `sso` namespace through a service account whose
 * Role may `get` that Secret by name (`ssoClientHandover`): no app namespace has a store that can
 * read any other spec secret.
 */
import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktn";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { APP_CATALOGUE, WORKLOAD_ACCOUNTS, type AppName } from "../core/apps";
import type { ClusterServices } from "../core/interfaces";
import { ssoEndpoints, type Environment } from "../core/spec";
import { CLUSTER_ISSUER, INGRESS_CLASS, namespaceLabels } from "./addons";
import { admittedGroups } from "./common";
import { ManifestsRelease, type Manifest } from "./helm";
import { AIRBYTE_RELEASE } from "./airbyte";
import { AIRFLOW_SSO_CALLBACK_PATH } from "./airflow-sso";
import { METABASE_RELEASE } from "./metabase";
import type { AppSso, GeneratedSecret, SsoSettings, Toleration } from "./types";
import { credentialHandoverManifests, generatedSecretManifests, workloadExternalSecretManifests } from "./wiring";


/** Namespace of the SSO client secret's store and of the authenticating proxies. */
export const SSO_NAMESPACE = WORKLOAD_ACCOUNTS["sso-secrets"].namespace;
/** The Secret (in `sso`, and copied into each `oidc` app's namespace) holding the client secret, and its key. */
export const SSO_CLIENT_SECRET = { name: "sso-client", key: "client-secret" } as const;
/** How often the client secret is read again from the cloud: a rotated secret arrives within this (plus the copies' hour). */
const CLIENT_SECRET_REFRESH = "15m";

/**
 * oauth2-proxy v7.15.3 (github.com/oauth2-proxy/oauth2-proxy, tag v7.15.3): the distroless
 * `nonroot` image (Makefile `DOCKER_BUILD_RUNTIME_IMAGE ?= gcr.io/distroless/static:nonroot`,
 * user 65532), entrypoint `/bin/oauth2-proxy`.
 */
export const OAUTH2_PROXY_IMAGE = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3";
const PROXY_USER = 65532;
/** The proxy's listening port (`--http-address`). */
export const PROXY_PORT = 4180;
/** Labels of every proxy pod; `platform/sso-proxy-for` names the app it fronts. */
export const PROXY_LABELS = { "app.kubernetes.io/name": "oauth2-proxy" } as const;
export const PROXY_APP_LABEL = "platform/sso-proxy-for";

/**
 * How each app signs users in. Native where the free edition can do it and the pinned image
 * carries what it needs; otherwise the proxy:
 * - grafana, monitoring: Grafana's generic OAuth (OSS);
 * - datahub: the frontend's OIDC (datahub-helm datahub-1.1.0 subcharts/datahub-frontend/
 *   templates/deployment.yaml `oidcAuthentication`);
 * - metabase: OIDC/SAML/JWT SSO is a paid feature (metabase.com/docs/latest/people-and-groups/
 *   start "Authentication": SAML and JWT on Pro and Enterprise; OSS has Google sign-in and LDAP);
 * - airbyte: SSO is an Airbyte Enterprise feature (docs.airbyte.com/platform/access-management/sso);
 * - airflow: the FAB auth manager's OAuth (AUTH_OAUTH with Authlib). apache-airflow-providers-fab
 *   does not depend on Authlib (apache/airflow#64456), but the official 3.1.7 image is built with
 *   the `google-auth` extra, which brings it (airflow-sso.ts has the citations).
 */
export const SSO_MODES: Readonly<Record<AppName, "oidc" | "proxy">> = {
  grafana: "oidc",
  monitoring: "oidc",
  datahub: "oidc",
  metabase: "proxy",
  airbyte: "proxy",
  airflow: "oidc",
};

/**
 * The Service each proxy forwards to, at the pinned charts:
 * - metabase: pmint93 metabase-2.26.0 templates/service.yaml (`metabase.fullname` = the release
 *   name, `service.externalPort` 80);
 * - airbyte: airbyte 2.2.0 templates/airbyte-server/service.yaml (`<release>-airbyte-server-svc`,
 *   `server.service.port` 8001).
 */
export const PROXY_UPSTREAMS: Readonly<Partial<Record<AppName, { readonly service: string; readonly port: number }>>> = {
  metabase: { service: METABASE_RELEASE, port: 80 },
  airbyte: { service: `${AIRBYTE_RELEASE}-airbyte-server-svc`, port: 8001 },
};

/**
 * Who may pass each proxy: Airbyte Community has no roles (everyone signed in administers every
 * connection and its credentials), so only the admin group; the others admit the spec's allowed
 * groups (and the admin group).
 */
function proxyGroups(app: AppName, settings: SsoSettings): readonly string[] {
  if (app === "airbyte") return [settings.adminGroup];
  return admittedGroups(settings);
}

/** The spec's `sso` with its endpoints resolved, or undefined without it. */
export function ssoSettings(env: Environment): SsoSettings | undefined {
  const sso = env.sso;
  if (sso === undefined) return undefined;
  const endpoints = ssoEndpoints(sso);
  if (endpoints === undefined) throw new Error(`${env.name}: sso.endpoints are needed for issuer ${sso.issuer} (the spec check should have caught this)`);
  return {
    issuer: sso.issuer,
    clientId: sso.clientId,
    allowedGroups: [...(sso.allowedGroups ?? [])],
    allowedDomains: [...(sso.allowedDomains ?? [])],
    adminGroup: sso.adminGroup,
    groupsClaim: sso.groupsClaim,
    endpoints,
  };
}

/** The apps of the environment that have a host, i.e. a UI to protect. */
function hostedApps(env: Environment): AppName[] {
  return env.apps.filter((app) => app.host !== undefined).map((app) => app.name);
}

/** How an app with a host signs users in, or undefined (no `sso`, or no host). */
export function appSso(env: Environment, app: AppName, hasHost: boolean): AppSso | undefined {
  const settings = ssoSettings(env);
  if (settings === undefined || !hasHost) return undefined;
  return SSO_MODES[app] === "oidc" ? { mode: "oidc", settings, clientSecret: { ...SSO_CLIENT_SECRET } } : { mode: "proxy", settings };
}

/** The apps whose host the proxy serves. */
export function proxiedApps(env: Environment): AppName[] {
  if (env.sso === undefined) return [];
  return hostedApps(env).filter((app) => SSO_MODES[app] === "proxy");
}

/**
 * The redirect (callback) URI of each protected host, to register with the provider for the one
 * client: Grafana `/login/generic_oauth` (pkg/api/api.go `/login/:name`), DataHub `/callback/oidc`
 * (datahub-frontend conf/routes), Airflow `/auth/oauth-authorized/sso` (airflow-sso.ts),
 * oauth2-proxy `/oauth2/callback` (`--proxy-prefix` /oauth2).
 */
const OIDC_CALLBACK_PATHS: Readonly<Partial<Record<AppName, string>>> = {
  grafana: "/login/generic_oauth",
  monitoring: "/login/generic_oauth",
  datahub: "/callback/oidc",
  airflow: AIRFLOW_SSO_CALLBACK_PATH,
};

/** The callback path of one app's host. */
export function ssoCallbackPath(app: AppName): string {
  if (SSO_MODES[app] === "proxy") return "/oauth2/callback";
  const path = OIDC_CALLBACK_PATHS[app];
  if (path === undefined) throw new Error(`${app} signs users in itself but has no callback path`);
  return path;
}

/** The redirect URIs to register, one per app host. */
export function ssoRedirectUris(env: Environment): string[] {
  if (env.sso === undefined) return [];
  return env.apps
    .filter((app) => app.host !== undefined)
    .map((app) => `https://${app.host}${ssoCallbackPath(app.name)}`);
}

/** The Secrets an `oidc` app's namespace receives: the client secret, read from the `sso` namespace by a reader that may get it alone. */
export function ssoClientHandover(app: AppName, namespace: string): Manifest[] {
  return credentialHandoverManifests(namespace, `${app}-sso-reader`, "sso-client", [SSO_CLIENT_SECRET.name], SSO_NAMESPACE);
}

/** The generated cookie secret of one proxy (32 characters: an AES-256 key, oauth2-proxy pkg/validation/cookie.go). */
function cookieSecret(app: AppName): GeneratedSecret {
  return { name: `${app}-proxy-cookie`, keys: { "cookie-secret": { length: 32 } } };
}

export interface SsoProps {
  readonly env: Environment;
  readonly services: ClusterServices;
  /** At least 2 in production. */
  readonly replicas: number;
  readonly production: boolean;
  readonly tolerations: readonly Toleration[];
  readonly dependsOn: ITerraformDependable[];
}

/** The arguments of one app's proxy (flags of oauth2-proxy v7.15.3 pkg/apis/options). */
export function proxyArgs(app: AppName, host: string, namespace: string, settings: SsoSettings): string[] {
  const upstream = PROXY_UPSTREAMS[app];
  if (upstream === undefined) throw new Error(`${app} has no upstream for the SSO proxy`);
  const groups = proxyGroups(app, settings);
  return [
    "--provider=oidc",
    `--oidc-issuer-url=${settings.issuer}`,
    `--client-id=${settings.clientId}`,
    `--client-secret-file=/etc/sso/${SSO_CLIENT_SECRET.key}`,
    "--cookie-secret-file=/etc/oauth2-proxy/cookie-secret",
    `--cookie-name=_sso_${app}`,
    "--cookie-secure=true",
    "--cookie-httponly=true",
    "--cookie-samesite=lax",
    "--cookie-expire=12h0m0s",
    "--cookie-refresh=1h0m0s",
    "--scope=openid email profile",
    "--code-challenge-method=S256",
    `--oidc-groups-claim=${settings.groupsClaim}`,
    // Every email when only groups restrict (the flag is mandatory: pkg/validation/options.go).
    ...(settings.allowedDomains.length === 0 ? ["--email-domain=*"] : settings.allowedDomains.map((domain) => `--email-domain=${domain}`)),
    ...groups.map((group) => `--allowed-group=${group}`),
    `--redirect-url=https://${host}/oauth2/callback`,
    `--upstream=http://${upstream.service}.${namespace}.svc.cluster.local:${upstream.port}/`,
    "--http-address=0.0.0.0:4180",
    // Behind Traefik: the client address and scheme come from X-Forwarded-* headers.
    "--reverse-proxy=true",
    "--skip-provider-button=true",
    "--pass-user-headers=true",
    "--silence-ping-logging=true",
  ];
}

/** The objects of one app's proxy: cookie secret, Deployment, Service, Ingress and (production) PodDisruptionBudget. */
export function proxyManifests(app: AppName, host: string, props: Pick<SsoProps, "replicas" | "production" | "tolerations">, settings: SsoSettings): Manifest[] {
  const name = `${app}-proxy`;
  const cookie = cookieSecret(app);
  const labels = { ...PROXY_LABELS, [PROXY_APP_LABEL]: app };
  const namespace = APP_CATALOGUE[app].namespace;
  return [
    ...generatedSecretManifests(SSO_NAMESPACE, cookie),
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: SSO_NAMESPACE, labels },
      spec: {
        replicas: props.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            tolerations: props.tolerations.map((toleration) => ({ ...toleration })),
            securityContext: { runAsNonRoot: true, runAsUser: PROXY_USER, runAsGroup: PROXY_USER, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "oauth2-proxy",
                image: OAUTH2_PROXY_IMAGE,
                args: proxyArgs(app, host, namespace, settings),
                ports: [{ name: "http", containerPort: PROXY_PORT, protocol: "TCP" }],
                readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 10 },
                livenessProbe: { httpGet: { path: "/ping", port: "http" }, periodSeconds: 20 },
                resources: { requests: { cpu: "25m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                volumeMounts: [
                  { name: "client-secret", mountPath: "/etc/sso", readOnly: true },
                  { name: "cookie-secret", mountPath: "/etc/oauth2-proxy", readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: "client-secret", secret: { secretName: SSO_CLIENT_SECRET.name, items: [{ key: SSO_CLIENT_SECRET.key, path: SSO_CLIENT_SECRET.key }] } },
              { name: "cookie-secret", secret: { secretName: cookie.name, items: [{ key: "cookie-secret", path: "cookie-secret" }] } },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: SSO_NAMESPACE, labels },
      spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name, namespace: SSO_NAMESPACE, annotations: { "cert-manager.io/cluster-issuer": CLUSTER_ISSUER } },
      spec: {
        ingressClassName: INGRESS_CLASS,
        tls: [{ hosts: [host], secretName: `${app}-tls` }],
        rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { name: "http" } } } }] } }],
      },
    },
    ...(props.production
      ? [{ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace: SSO_NAMESPACE }, spec: { minAvailable: 1, selector: { matchLabels: labels } } }]
      : []),
  ];
}

/** The `sso` namespace's service account and SecretStore, and the client Secret synced through them. */
function clientSecretManifests(services: ClusterServices, clientSecret: string): Manifest[] {
  return workloadExternalSecretManifests(services, "sso-secrets", {
    name: SSO_CLIENT_SECRET.name,
    refreshInterval: CLIENT_SECRET_REFRESH,
    data: [{ secretKey: SSO_CLIENT_SECRET.key, remoteRef: { key: clientSecret } }],
  });
}

/**
 * The `sso` namespace (Pod Security `restricted`), its client Secret and the proxies, when the
 * spec has `sso`. The `oidc` apps' wiring waits for `ready` (their handover Role lives here).
 */
export class SingleSignOn extends Construct {
  readonly namespace: NamespaceV1;
  readonly release: ManifestsRelease;
  readonly ready: ITerraformDependable[];

  constructor(scope: Construct, id: string, props: SsoProps) {
    super(scope, id);
    const sso = props.env.sso;
    const settings = ssoSettings(props.env);
    if (sso === undefined || settings === undefined) throw new Error(`${props.env.name}: SingleSignOn without sso in the spec`);
    this.namespace = new NamespaceV1(this, "namespace", { metadata: { name: SSO_NAMESPACE, labels: namespaceLabels("restricted") } });
    const hosts = new Map(props.env.apps.flatMap((app) => (app.host === undefined ? [] : [[app.name, app.host] as const])));
    const manifests = [
      ...clientSecretManifests(props.services, sso.clientSecret),
      ...proxiedApps(props.env).flatMap((app) => proxyManifests(app, hosts.get(app) as string, props, settings)),
    ];
    this.release = new ManifestsRelease(this, "release", { name: "sso", namespace: SSO_NAMESPACE, manifests, dependsOn: [...props.dependsOn, this.namespace] });
    this.ready = [this.release.release];
  }
}
