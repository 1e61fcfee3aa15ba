/**
 * Single sign-on (`sso` in the spec), checked on real synthesized stacks of every cloud, with
 * and without the section:
 * - every host is served either by an app configured for OIDC with the spec's issuer, or by an
 *   oauth2-proxy whose issuer is the spec's and whose upstream is the app's Service; no host is
 *   left with a direct route (Airflow's generated sign-in config has its own checks:
 *   apps/airflow-sso.test.ts);
 * - the client secret is never a literal, and reaches each consumer through External Secrets:
 *   the `sso` namespace's store (its identity reads that one secret, per the clouds' own IAM
 *   rules: support/permissions.ts), then a Kubernetes-provider store per consumer namespace whose
 *   reader may `get` that one Secret;
 * - the values pass each chart's contract; objects pass Kubernetes' names and schemas (ESO
 *   objects at the v2.9.0 CRDs) and Pod Security admission of their namespace;
 * - the spec refuses what it must, with one case each.
 */
import { describe, expect, it } from "vitest";
import { CLOUDS, parseEnvironment, type Cloud, type EnvironmentInput } from "../constructs/core/spec";
import { AppsStack } from "../stacks/apps";
import { InfraStack } from "../stacks/infra";
import { Testing } from "cdktn";
import { everyAppSpec, everyAppSpecWithSso, specProblems, TEST_SSO } from "./support/fixtures";
import { loadChart, schemaErrors, unknownPaths } from "./support/chart-contract";
import { objectProblems, orderingProblems, podSecurityProblems } from "./support/kubernetes/checks";
import { renderedApps, type ChartRelease, type KubeObject, type RenderedApps } from "../scripts/rendered-apps";
import { userSecretReadProblems, type StackJson } from "./support/permissions";
import { datahubChartIngress, ingressRouters, route } from "./support/traefik-routing";
import { DATAHUB_PASSWORD_BLOCK, DATAHUB_PASSWORD_PATHS } from "../constructs/apps/datahub";
import { INGRESS_CLASS } from "../constructs/apps/addons";

const SSO = TEST_SSO;
const withSso = everyAppSpecWithSso;

function synth(input: EnvironmentInput): { apps: RenderedApps; text: string; infra: StackJson; env: ReturnType<typeof parseEnvironment> } {
  const env = parseEnvironment(input);
  const text = Testing.synth(new AppsStack(Testing.app(), env));
  return { apps: renderedApps(text), text, infra: JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as StackJson, env };
}

const CONTRACTS: Readonly<Record<string, string>> = { grafana: "grafana", monitoring: "kube-prometheus-stack", datahub: "datahub", metabase: "metabase", airbyte: "airbyte-v2", airflow: "airflow" };
/** Where each chart's Ingress values sit. */
const INGRESS_PATH: Readonly<Record<string, readonly string[]>> = {
  grafana: ["ingress"],
  monitoring: ["grafana", "ingress"],
  datahub: ["datahub-frontend", "ingress"],
  metabase: ["ingress"],
  airbyte: ["ingress"],
  airflow: ["ingress", "apiServer"],
};
const at = (value: unknown, path: readonly (string | number)[]): unknown => path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], value);
const str = (value: unknown, path: readonly (string | number)[]): string => String(at(value, path));
/** Sets a value at a path of a parsed document (for the cases the checks must refuse). */
const put = (value: unknown, path: readonly (string | number)[], leaf: unknown): void => {
  (at(value, path.slice(0, -1)) as Record<string | number, unknown>)[path[path.length - 1]] = leaf;
};
const objectsOf = (apps: RenderedApps, kind: string) => apps.objects.filter(({ object }) => object.kind === kind).map(({ object, releaseNamespace }) => ({ ...object, metadata: { ...object.metadata, namespace: object.metadata.namespace ?? releaseNamespace } }) as KubeObject);

describe.each(CLOUDS.map((cloud) => [cloud] as const))("sso on %s", (cloud) => {
  const { apps, text, infra, env } = synth(withSso(cloud));
  const release = (name: string) => apps.releases.find((r) => r.name === name);
  const hosts = env.apps.filter((app) => app.host !== undefined);

  const openHosts = (apps: RenderedApps): string[] => {
    const release = (name: string) => apps.releases.find((r) => r.name === name);
    const ingresses = objectsOf(apps, "Ingress");
    const deployments = objectsOf(apps, "Deployment");
    const services = objectsOf(apps, "Service");
    const open: string[] = [];
    for (const app of hosts) {
      const values = release(app.name === "monitoring" ? "monitoring" : app.name)?.values;
      const chartIngress = at(values, INGRESS_PATH[app.name]) as { enabled?: boolean } | undefined;
      // The Ingress of ours serving the host's root (DataHub's password block serves only its paths on the host).
      const proxyIngress = ingresses.find((ingress) => JSON.stringify(at(ingress, ["spec", "rules"])).includes(`"host":"${app.host}"`) && JSON.stringify(at(ingress, ["spec", "rules"])).includes(`"path":"/"`));
      if (proxyIngress) {
        // The chart renders no Ingress of its own, and the proxy's Service selects an oauth2-proxy that forwards to the app.
        if (chartIngress?.enabled !== false) open.push(`${app.name}: the chart's own Ingress is still on besides the proxy's`);
        const serviceName = str(proxyIngress, ["spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"]);
        const service = services.find((s) => s.metadata.name === serviceName && s.metadata.namespace === proxyIngress.metadata.namespace);
        const selector = (at(service, ["spec", "selector"]) ?? {}) as Record<string, string>;
        const proxy = deployments.find((d) => d.metadata.namespace === proxyIngress.metadata.namespace && Object.entries(selector).every(([k, v]) => at(d, ["spec", "template", "metadata", "labels", k]) === v));
        const container = ["spec", "template", "spec", "containers", 0];
        const args = (at(proxy, [...container, "args"]) ?? []) as string[];
        if (!proxy || !str(proxy, [...container, "image"]).startsWith("quay.io/oauth2-proxy/oauth2-proxy:v")) open.push(`${app.name}: the proxy Ingress leads to no oauth2-proxy`);
        if (!args.includes(`--oidc-issuer-url=${SSO.issuer}`)) open.push(`${app.name}: the proxy does not use the issuer`);
        if (!args.some((arg) => arg.startsWith(`--upstream=http://`) && arg.includes(`.${app.name}.svc.cluster.local:`))) open.push(`${app.name}: the proxy's upstream is not in the app's namespace`);
        if (!args.some((arg) => arg.startsWith("--allowed-group="))) open.push(`${app.name}: the proxy admits any group`);
        if (!args.includes(`--redirect-url=https://${app.host}/oauth2/callback`)) open.push(`${app.name}: the proxy's redirect URL is not on its host`);
        continue;
      }
      if (chartIngress?.enabled !== true) open.push(`${app.name}: no Ingress serves ${app.host}`);
      if (app.name === "grafana" || app.name === "monitoring") {
        const ini = at(values, app.name === "monitoring" ? ["grafana", "grafana.ini"] : ["grafana.ini"]) as Record<string, Record<string, unknown>>;
        const oauth = ini?.["auth.generic_oauth"];
        if (oauth?.enabled !== true || !String(oauth.auth_url).startsWith(SSO.issuer) || oauth.allowed_groups === undefined) open.push(`${app.name}: Grafana does not sign in through the issuer with allowed groups`);
        if (ini?.auth?.disable_login_form !== true) open.push(`${app.name}: Grafana's password form is still on`);
        if (!String(oauth?.role_attribute_path).includes(`'${SSO.adminGroup}'`)) open.push(`${app.name}: the admin group maps to no role`);
      } else if (app.name === "datahub") {
        const oidc = at(values, ["datahub-frontend", "oidcAuthentication"]) as Record<string, unknown> | undefined;
        if (oidc?.enabled !== true || oidc.discoveryUri !== `${SSO.issuer}/.well-known/openid-configuration`) open.push("datahub: the frontend does not sign in through the issuer");
        // The local password login: Traefik must refuse its endpoints on the public host (apps/datahub-sso.test.ts has the variants).
        const routers = [...ingresses, datahubChartIngress(release("datahub") as ChartRelease)].flatMap((ingress) => ingressRouters(ingress, INGRESS_CLASS));
        const reached = DATAHUB_PASSWORD_PATHS.filter((path) => route(routers, objectsOf(apps, "Middleware"), { host: String(app.host), path, remoteAddr: "203.0.113.7:51000" }).result === "forwarded");
        if (reached.length > 0) open.push(`datahub: the password login is reachable on the public host (${reached.join(", ")})`);
      } else if (app.name === "airflow") {
        // The API server's webserver_config.py (chart 1.19.0 `apiServer.apiServerConfig`): OAuth through the issuer, the admin group mapped to Admin.
        const config = String(at(values, ["apiServer", "apiServerConfig"]) ?? "");
        if (!/^AUTH_TYPE = fab_const\.AUTH_OAUTH$/m.test(config) || !config.includes(`issuer = "${SSO.issuer}"`)) open.push("airflow: the API server does not sign in through the issuer");
        if (!config.includes(`("${SSO.adminGroup}", ["Admin"])`)) open.push("airflow: the admin group maps to no role");
        if (at(values, ["createUserJob", "enabled"]) !== false) open.push("airflow: a password user is still created");
      } else {
        open.push(`${app.name}: served by its own chart without any sign-in through the provider`);
      }
    }
    return open;
  };

  it("serves every host through an app signing in with the spec's issuer, or through oauth2-proxy in front of it: none is left open", () => {
    expect(hosts.length).toBe(6);
    expect(openHosts(apps)).toEqual([]);
  });

  it("the host check refuses a chart Ingress left on beside the proxy, a Grafana with its password form, DataHub's password login on the public host, a proxy admitting any group", () => {
    const broken = structuredClone(apps) as RenderedApps;
    put(broken.releases.find((r) => r.name === "metabase")?.values, ["ingress", "enabled"], true);
    put(broken.releases.find((r) => r.name === "grafana")?.values, ["grafana.ini", "auth", "disable_login_form"], false);
    const proxy = broken.objects.find(({ object }) => object.kind === "Deployment" && String(object.metadata.name) === "airbyte-proxy")?.object;
    const args = ["spec", "template", "spec", "containers", 0, "args"];
    put(proxy, args, (at(proxy, args) as string[]).filter((arg) => !arg.startsWith("--allowed-group=")));
    put(broken.releases.find((r) => r.name === "airflow")?.values, ["apiServer", "apiServerConfig"], null);
    put(broken.releases.find((r) => r.name === "airflow")?.values, ["createUserJob", "enabled"], true);
    const blocked = broken.objects.findIndex(({ object }) => object.kind === "Middleware" && object.metadata.name === DATAHUB_PASSWORD_BLOCK.middleware);
    (broken.objects as unknown[]).splice(blocked, 1);
    expect(openHosts(broken)).toEqual([
      "metabase: the chart's own Ingress is still on besides the proxy's",
      `datahub: the password login is reachable on the public host (${DATAHUB_PASSWORD_PATHS.join(", ")})`,
      "airbyte: the proxy admits any group",
      "grafana: Grafana's password form is still on",
      "airflow: the API server does not sign in through the issuer",
      "airflow: the admin group maps to no role",
      "airflow: a password user is still created",
    ].sort((a, b) => hosts.findIndex((h) => a.startsWith(h.name)) - hosts.findIndex((h) => b.startsWith(h.name))));
  });

  it("lets only the allowed groups and the admin group sign in to DataHub, and keeps the local datahub login (in the cluster only) for the first Admin grant", () => {
    const env = (at(release("datahub")?.values, ["datahub-frontend", "extraEnvs"]) ?? []) as { name: string; value?: string }[];
    // datahub-frontend conf/application.conf: auth.oidc.requiredGroups = ${?AUTH_OIDC_REQUIRED_GROUPS}, comma-separated, ANY of them.
    const required = env.find((entry) => entry.name === "AUTH_OIDC_REQUIRED_GROUPS")?.value;
    expect(required?.split(",").sort()).toEqual([...SSO.allowedGroups, SSO.adminGroup].sort());
    expect(env.find((entry) => entry.name === "AUTH_JAAS_ENABLED")).toBeUndefined();
  });

  it("the chart contract refuses an OIDC field the DataHub frontend template does not read", () => {
    const values = structuredClone(release("datahub")?.values ?? {});
    put(values, ["datahub-frontend", "oidcAuthentication", "clientSecretName"], "sso-client");
    expect(unknownPaths(loadChart("datahub"), values)).toEqual(["datahub-frontend.oidcAuthentication.clientSecretName"]);
  });

  it("never holds the client secret as a literal: Grafana and DataHub read a Secret, Airflow and the proxies a file from it", () => {
    expect(text).not.toMatch(/client_secret"\s*:/);
    expect(text).not.toMatch(/"clientSecret"\s*:/);
    expect(at(release("grafana")?.values, ["envValueFrom", "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"])).toEqual({ secretKeyRef: { name: "sso-client", key: "client-secret" } });
    expect(at(release("datahub")?.values, ["datahub-frontend", "oidcAuthentication", "clientSecretRef"])).toEqual({ secretRef: "sso-client", secretKey: "client-secret" });
    expect(at(release("airflow")?.values, ["apiServer", "extraVolumes"])).toEqual([{ name: "sso-client", secret: { secretName: "sso-client", items: [{ key: "client-secret", path: "client-secret" }] } }]);
    expect(String(at(release("airflow")?.values, ["apiServer", "apiServerConfig"]))).toContain('with open("/etc/sso/client-secret", encoding="utf-8")');
  });

  it("gives no app namespace a store that can read another spec secret: the sso store's identity reads the client secret alone, each consumer gets that one Secret", () => {
    const stores = [...objectsOf(apps, "SecretStore"), ...objectsOf(apps, "ClusterSecretStore")];
    const roles = objectsOf(apps, "Role");
    const problems: string[] = [];
    for (const store of stores) {
      const namespace = String(store.metadata.namespace);
      const kubernetes = at(store, ["spec", "provider", "kubernetes"]) as { remoteNamespace?: string; auth: { serviceAccount: { name: string } } } | undefined;
      if (kubernetes?.remoteNamespace === "sso") {
        const reader = kubernetes.auth.serviceAccount.name;
        const role = roles.find((r) => r.metadata.namespace === "sso" && r.metadata.name === reader);
        const rules = (role?.rules ?? []) as { resources: string[]; resourceNames?: string[]; verbs: string[] }[];
        if (JSON.stringify(rules) !== JSON.stringify([{ apiGroups: [""], resources: ["secrets"], resourceNames: ["sso-client"], verbs: ["get"] }])) problems.push(`${namespace}/${String(store.metadata.name)}: its reader may do more than get sso-client: ${JSON.stringify(rules)}`);
      } else if (!kubernetes && namespace !== "sso" && namespace !== "monitoring" && store.kind === "SecretStore") {
        problems.push(`${namespace}/${String(store.metadata.name)}: a cloud secret store in an app namespace`);
      }
    }
    // The consumers: each app that signs users in itself.
    for (const namespace of ["grafana", "monitoring", "datahub", "airflow"]) {
      if (!stores.some((s) => s.metadata.namespace === namespace && at(s, ["spec", "provider", "kubernetes", "remoteNamespace"]) === "sso")) problems.push(`${namespace}: no store reads the client secret`);
    }
    expect(problems).toEqual([]);
    const stacks = { env, infra, apps: undefined, gitops: undefined };
    expect(userSecretReadProblems(stacks, [SSO.clientSecret], { namespace: "sso", serviceAccount: "sso-secrets" })).toEqual([]);
    // And the monitoring namespace's reader may not read it.
    expect(userSecretReadProblems(stacks, [], { namespace: "monitoring", serviceAccount: "monitoring-secrets" })).toEqual([]);
  });

  it.each(Object.keys(CONTRACTS))("%s values pass the chart's contract with sso", (name) => {
    const values = release(name)?.values ?? {};
    const chart = loadChart(CONTRACTS[name]);
    expect(unknownPaths(chart, values)).toEqual([]);
    expect(schemaErrors(chart, values)).toEqual([]);
  });

  it("names, schemas (ESO at v2.9.0), Pod Security of the proxies' restricted namespace, and install order pass as Kubernetes sees them", () => {
    expect(objectsOf(apps, "Namespace").find((n) => n.metadata.name === "sso")?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(objectProblems(apps)).toEqual([]);
    expect(podSecurityProblems(apps)).toEqual([]);
    expect(orderingProblems(text, apps)).toEqual([]);
  });
});

describe.each(CLOUDS.map((cloud) => [cloud] as const))("without sso on %s", (cloud) => {
  const { apps, text, infra, env } = synth(everyAppSpec(cloud, true));
  it("keeps every app's own login and Ingress: no sso namespace, no proxy, no OAuth settings, no sso identity", () => {
    expect(objectsOf(apps, "Namespace").map((n) => n.metadata.name)).not.toContain("sso");
    expect(text).not.toContain("oauth2-proxy");
    expect(text).not.toContain("generic_oauth");
    expect(text).not.toContain("oidcAuthentication");
    expect(text).not.toContain("apiServerConfig");
    expect(at(apps.releases.find((r) => r.name === "airflow")?.values, ["createUserJob", "enabled"])).toBeUndefined();
    expect(JSON.stringify(infra)).not.toContain("sso-secrets");
    for (const app of env.apps.filter((a) => a.host !== undefined)) {
      const values = apps.releases.find((r) => r.name === app.name)?.values;
      expect((at(values, INGRESS_PATH[app.name]) as { enabled?: boolean }).enabled).toBe(true);
    }
  });
});

describe("the sso spec section", () => {
  const base = (sso: Record<string, unknown>, cloud: Cloud = "aws"): EnvironmentInput => ({ ...everyAppSpec(cloud, false), sso: { ...SSO, ...sso } as never });

  it("accepts the example on every cloud", () => {
    for (const cloud of CLOUDS) expect(specProblems(base({}, cloud))).toEqual([]);
  });
  it.each([
    ["http://id.example.com/realms/data", "plain http"],
    ["https://id.example.com/realms/data/", "a trailing slash (the issuer must equal the tokens' iss)"],
    ["https://id.example.com/realms/data?x=1", "a query"],
    ["https://ID.example.com", "an uppercase host"],
  ])("refuses the issuer %s (%s)", (issuer) => {
    expect(specProblems(base({ issuer })).join("\n")).toContain("sso.issuer");
  });
  it("refuses a section that restricts nobody (no allowedGroups, no allowedDomains)", () => {
    expect(specProblems(base({ allowedGroups: undefined })).join("\n")).toMatch(/^sso: .*allowedGroups, allowedDomains/m);
    expect(specProblems(base({ allowedGroups: [] })).join("\n")).toMatch(/^sso: /m);
    expect(specProblems(base({ allowedGroups: undefined, allowedDomains: ["example.com"] }))).toEqual([]);
  });
  it("refuses a client secret that another spec field also names (only the sso identity may read it)", () => {
    const input = { ...base({ clientSecret: "alerts-slack-hook" }), alerts: { slack: { channel: "#alerts", webhookSecret: "alerts-slack-hook" } } };
    expect(specProblems(input).join("\n")).toContain("sso.clientSecret");
  });
  it.each([
    ["aws", "sso-client", "AWS's random suffix"],
    ["azure", "sso_client", "Key Vault's alphabet"],
    ["gcp", "sso/client", "Secret Manager's alphabet"],
  ] as const)("on %s refuses the client secret name %s (%s)", (cloud, clientSecret, _why) => {
    expect(specProblems(base({ clientSecret }, cloud)).join("\n")).toContain("sso.clientSecret");
  });
  it("needs endpoints for an issuer whose layout Grafana's endpoints cannot be derived from, and takes them when given", () => {
    expect(specProblems(base({ issuer: "https://auth.example.com" })).join("\n")).toContain("sso.endpoints");
    const endpoints = { authorization: "https://auth.example.com/authorize", token: "https://auth.example.com/token", userinfo: "https://auth.example.com/userinfo" };
    expect(specProblems(base({ issuer: "https://auth.example.com", endpoints }))).toEqual([]);
  });
  it("refuses a group name Terraform would read as an interpolation", () => {
    expect(specProblems(base({ adminGroup: "${var.x}" })).join("\n")).toContain("sso.adminGroup");
  });
});
