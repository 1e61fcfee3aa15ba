/**
 * Airflow's own sign-in through the SSO provider (constructs/apps/airflow-sso.ts), on the real
 * synthesized apps stack of every cloud, checked against what its consumers do with it:
 * - the chart (1.19.0): the key it mounts into the API server, through `tpl`;
 * - Flask-AppBuilder and the Airflow FAB provider: the config names they read, the roles that
 *   exist, the keys of an OAuth provider; Authlib: the client parameters it takes;
 * - the callback FAB gives the provider, which must be the redirect URI to register;
 * - Terraform: no `${`/`%{` template sequence in the values string;
 * - Python 3: the file's shape, and its string literals decoding to the spec's values exactly,
 *   hostile ones included.
 * Sources and versions: support/fab-config.ts.
 */
import { createHash } from "node:crypto";
import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { AIRFLOW_CHART } from "../../constructs/apps/airflow";
import {
  airflowWebserverConfig,
  AIRFLOW_SSO_CALLBACK_PATH,
  AIRFLOW_SSO_CONFIG_CHECKSUM,
  AIRFLOW_SSO_JWT_SECONDS,
  AIRFLOW_SSO_SESSION_MINUTES,
  pythonString,
} from "../../constructs/apps/airflow-sso";
import { ssoRedirectUris } from "../../constructs/apps/sso";
import type { SsoSettings } from "../../constructs/apps/types";
import { CLOUDS, parseEnvironment, type Cloud, type EnvironmentInput } from "../../constructs/core/spec";
import { AppsStack } from "../../stacks/apps";
import { loadChart, unknownPaths } from "../support/chart-contract";
import {
  AIRFLOW_OPTIONS,
  AUTHLIB_CLIENT_KWARGS,
  AUTHLIB_CLIENT_PARAMS,
  classMethods,
  CONFIG_MOUNTED_IN,
  FAB_CONFIG_NAMES,
  FAB_SECURITY_MANAGER_HOOKS,
  FLASK_CONFIG_NAMES,
  FAB_PROVIDER_KEYS,
  FAB_ROLES,
  fabCallbackUrl,
  isUpper,
  pythonShapeProblems,
  pythonStringValue,
  stringLiterals,
  topLevelNames,
} from "../support/fab-config";
import { everyAppSpec, everyAppSpecWithSso, TEST_SSO } from "../support/fixtures";
import { chartPods } from "../support/kubernetes/chart-pods";
import { renderedApps, type ChartRelease } from "../../scripts/rendered-apps";

const SSO = { ...TEST_SSO, allowedGroups: ["data-team", "analysts"], allowedDomains: ["example.com"] } as const;
const withSso = (cloud: Cloud): EnvironmentInput => everyAppSpecWithSso(cloud, true, { allowedGroups: [...SSO.allowedGroups], allowedDomains: [...SSO.allowedDomains] });

/** Upper-case names of the file that are no FAB or Flask setting. */
const unknownSettings = (config: string): string[] => topLevelNames(config).filter((name) => isUpper(name) && !FAB_CONFIG_NAMES.has(name) && !FLASK_CONFIG_NAMES.has(name));
/** airflow.cfg options of the chart's `config` in the sections Airflow declares for the sign-in that Airflow does not declare. */
const unknownOptions = (config: Record<string, Record<string, string>>): string[] =>
  Object.entries(AIRFLOW_OPTIONS).flatMap(([section, options]) => Object.keys(config[section] ?? {}).filter((option) => !options.has(option)).map((option) => `${section}.${option}`));
/** The annotations of the API server's pods, as chart 1.19.0 renders them (support/kubernetes/chart-pods.ts). */
const apiServerPodAnnotations = (release: ChartRelease, values: Record<string, unknown>): Record<string, string> =>
  chartPods({ ...release, values }).find((candidate) => candidate.name === `${release.name}/apiServer`)?.pod.annotations ?? {};

/** `name = <one string literal>` at the top level. */
const stringAssigned = (config: string, name: string): string => {
  const line = config.split("\n").find((candidate) => candidate.startsWith(`${name} = `));
  if (line === undefined) throw new Error(`${name} is not assigned`);
  return pythonStringValue(line.slice(name.length + 3));
};
/** `name = [<string literals>]` at the top level. */
const listAssigned = (config: string, name: string): string[] => {
  const line = config.split("\n").find((candidate) => candidate.startsWith(`${name} = [`));
  if (line === undefined) throw new Error(`${name} is not assigned a list`);
  return stringLiterals(line).map(pythonStringValue);
};
/** AUTH_ROLES_MAPPING's `(group, [roles])` pairs. */
const rolesMapping = (config: string): [string, string[]][] =>
  config
    .split("\n")
    .filter((line) => /^ {8}\(".*\]\),$/.test(line))
    .map((line) => {
      const [group, ...roles] = stringLiterals(line).map(pythonStringValue);
      return [group, roles];
    });
/** The `key=` arguments of the OAUTH_PROVIDERS entry, by depth: the provider (8 spaces), remote_app (12), client_kwargs (inline). */
function providerKeys(config: string): { provider: string[]; remoteApp: string[]; clientKwargs: string[]; name: string } {
  const block = config.slice(config.indexOf("OAUTH_PROVIDERS = ["), config.indexOf("\n]\n", config.indexOf("OAUTH_PROVIDERS = [")));
  const at = (indent: number) => [...block.matchAll(new RegExp(`^ {${indent}}([a-z_]+)=`, "gm"))].map((match) => match[1]);
  const kwargs = /client_kwargs=dict\((.*)\),$/m.exec(block)?.[1] ?? "";
  const name = /^ {8}name=(".*"),$/m.exec(block)?.[1];
  if (name === undefined) throw new Error("the provider has no name");
  return { provider: at(8), remoteApp: at(12), clientKwargs: [...kwargs.matchAll(/([a-z_]+)=/g)].map((match) => match[1]), name: pythonStringValue(name) };
}

describe.each(CLOUDS.map((cloud) => [cloud] as const))("Airflow's sign-in through the provider on %s", (cloud) => {
  const env = parseEnvironment(withSso(cloud));
  const rendered = renderedApps(Testing.synth(new AppsStack(Testing.app(), env)));
  const values = rendered.releases.find((release) => release.name === "airflow")?.values as Record<string, Record<string, unknown>>;
  const config = String(values.apiServer.apiServerConfig);
  const host = env.apps.find((app) => app.name === "airflow")?.host as string;

  it("puts the config under the key chart 1.19.0 mounts into the API server, where Airflow 3 runs the FAB app, and the contract refuses a key it does not read", () => {
    const mountedInApiServer = (key: string) => (CONFIG_MOUNTED_IN[key] ?? []).includes("api-server");
    const keys = Object.keys(CONFIG_MOUNTED_IN).filter((key) => typeof key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], values) === "string");
    expect(keys).toEqual(["apiServer.apiServerConfig"]);
    expect(keys.every(mountedInApiServer)).toBe(true);
    // The Airflow 2 key is read by the chart, but mounted where no FAB app runs.
    expect(mountedInApiServer("webserver.webserverConfig")).toBe(false);
    const misplaced = structuredClone(values);
    misplaced.apiServer.webserverConfig = config;
    expect(unknownPaths(loadChart("airflow"), misplaced)).toEqual(["apiServer.webserverConfig"]);
  });

  it("holds nothing Helm's tpl or Terraform would read as a template", () => {
    expect(config).not.toMatch(/\{\{|\}\}/);
    expect(config).not.toMatch(/[$%]\{/);
  });

  it("is Python 3 in shape: spaces in fours, ASCII, strings closed, brackets balanced", () => {
    expect(pythonShapeProblems(config)).toEqual([]);
  });

  it("sets only settings FAB reads, and the check refuses one it does not", () => {
    expect(topLevelNames(config).filter(isUpper).sort()).toEqual([
      "AUTH_ROLES_MAPPING", "AUTH_ROLES_SYNC_AT_LOGIN", "AUTH_TYPE", "AUTH_USER_REGISTRATION", "AUTH_USER_REGISTRATION_ROLE", "OAUTH_PROVIDERS", "SECURITY_MANAGER_CLASS", "SESSION_REFRESH_EACH_REQUEST",
    ]);
    expect(unknownSettings(config)).toEqual([]);
    // A misspelt setting, and an upper-case import, which Flask would also take as a setting.
    expect(unknownSettings(`${config}AUTH_ROLE_MAPPING = dict()\nfrom flask_appbuilder.const import AUTH_OAUTH\n`)).toEqual(["AUTH_ROLE_MAPPING", "AUTH_OAUTH"]);
  });

  it("signs in through OAuth with one provider from the issuer's discovery document, PKCE and the OIDC scopes, keys FAB and Authlib take", () => {
    expect(config).toMatch(/^AUTH_TYPE = fab_const\.AUTH_OAUTH$/m);
    expect(config).toMatch(/^import flask_appbuilder\.const as fab_const$/m);
    const keys = providerKeys(config);
    expect(keys.provider.filter((key) => !FAB_PROVIDER_KEYS.has(key))).toEqual([]);
    expect(keys.remoteApp.filter((key) => !AUTHLIB_CLIENT_PARAMS.has(key))).toEqual([]);
    expect(keys.clientKwargs.filter((key) => !AUTHLIB_CLIENT_KWARGS.has(key))).toEqual([]);
    expect(keys.remoteApp.sort()).toEqual(["client_id", "client_kwargs", "client_secret", "server_metadata_url"]);
    expect(config).toContain('server_metadata_url=issuer + "/.well-known/openid-configuration",');
    expect(config).toContain('client_kwargs=dict(scope="openid email profile", code_challenge_method="S256"),');
    // FAB stores `resp[token_key]` in the session (set_oauth_session); an OAuth 2 token response names it access_token (RFC 6749 §5.1).
    expect(config).toContain('token_key="access_token",');
    // The check refuses a key neither takes.
    expect(providerKeys(config.replace("server_metadata_url=", "metadata_url=")).remoteApp.filter((key) => !AUTHLIB_CLIENT_PARAMS.has(key))).toEqual(["metadata_url"]);
  });

  it("registers users with no rights of their own and maps the admin group to Admin, the allowed groups to User, at every login; every role exists", () => {
    expect(config).toMatch(/^AUTH_USER_REGISTRATION = True$/m);
    expect(config).toMatch(/^AUTH_ROLES_SYNC_AT_LOGIN = True$/m);
    expect(stringAssigned(config, "AUTH_USER_REGISTRATION_ROLE")).toBe("Public");
    const mapping = rolesMapping(config);
    expect(mapping).toEqual([["data-team", ["User"]], ["analysts", ["User"]], ["data-admins", ["Admin"]]]);
    const missingRoles = (pairs: [string, string[]][]) => pairs.flatMap(([, roles]) => roles).filter((role) => !FAB_ROLES.has(role));
    expect(missingRoles(mapping)).toEqual([]);
    expect(missingRoles([["data-team", ["Users"]]])).toEqual(["Users"]);
  });

  it("reads the spec's issuer, client, groups claim, groups and domains back exactly from the literals", () => {
    expect(stringAssigned(config, "issuer")).toBe(SSO.issuer);
    expect(stringAssigned(config, "client_id")).toBe(SSO.clientId);
    expect(stringAssigned(config, "groups_claim")).toBe("groups");
    expect(stringAssigned(config, "admin_group")).toBe(SSO.adminGroup);
    expect(listAssigned(config, "allowed_groups")).toEqual(SSO.allowedGroups);
    expect(listAssigned(config, "allowed_domains")).toEqual(SSO.allowedDomains);
  });

  it("reads the client secret from the file of the Secret synced into the namespace, never from the values", () => {
    const volume = (values.apiServer.extraVolumes as { name: string; secret: { secretName: string; items: { key: string; path: string }[] } }[])[0];
    const mount = (values.apiServer.extraVolumeMounts as { name: string; mountPath: string; readOnly: boolean }[])[0];
    expect(mount).toMatchObject({ name: volume.name, readOnly: true });
    expect(config).toContain(`with open(${pythonString(`${mount.mountPath}/${volume.secret.items[0].path}`)}, encoding="utf-8") as secret_file:`);
    // The Secret exists in the namespace: the handover ExternalSecret writes it there.
    const handover = rendered.objects.map(({ object }) => object).find((object) => object.kind === "ExternalSecret" && object.metadata.namespace === "airflow" && (object.spec as { target?: { name?: string } }).target?.name === volume.secret.secretName);
    expect(handover).toBeDefined();
    expect(JSON.stringify(values)).not.toContain(SSO.clientSecret);
  });

  it("registers the callback FAB gives the provider as the redirect URI", () => {
    const baseUrl = String((values.config as Record<string, Record<string, string>>).api.base_url);
    const callback = fabCallbackUrl(baseUrl, providerKeys(config).name);
    expect(callback).toBe(`https://${host}${AIRFLOW_SSO_CALLBACK_PATH}`);
    expect(ssoRedirectUris(env)).toContain(callback);
    // Under a base URL with a path the FAB app moves, and so would the callback.
    expect(fabCallbackUrl(`https://${host}/airflow`, "sso")).toBe(`https://${host}/airflow/auth/oauth-authorized/sso`);
  });

  it("sends the FAB session (OAuth state, then the signed-in user) over HTTPS only, and keeps the chart's proxy fix, which gives FAB the https scheme", () => {
    const fab = (values.config as Record<string, Record<string, string>>).fab;
    expect(fab.cookie_secure).toBe("True");
    expect(fab.enable_proxy_fix).toBeUndefined();
    expect((loadChart("airflow").defaults as { config: { fab: Record<string, string> } }).config.fab).toEqual({ enable_proxy_fix: "True" });
  });

  it("ends a sign-in hours after the provider round trip, not after the last request, through options and hooks Airflow and FAB read", () => {
    const airflowConfig = values.config as Record<string, Record<string, string>>;
    expect(unknownOptions(airflowConfig)).toEqual([]);
    expect(unknownOptions({ ...airflowConfig, fab: { ...airflowConfig.fab, session_lifetime: "240" }, api_auth: { jwt_expiry: "1" } })).toEqual(["fab.session_lifetime", "api_auth.jwt_expiry"]);
    // FAB's idle limit and the config's absolute one are the same hours; the JWT lives an hour.
    expect(Number(airflowConfig.fab.session_lifetime_minutes)).toBe(AIRFLOW_SSO_SESSION_MINUTES);
    expect(config).toMatch(new RegExp(`^session_max_age = ${AIRFLOW_SSO_SESSION_MINUTES * 60}$`, "m"));
    expect(airflowConfig.api_auth).toEqual({ jwt_expiration_time: String(AIRFLOW_SSO_JWT_SECONDS) });
    // A removed user keeps access at most the session plus the JWT: within hours, not the defaults' 30 days plus a day.
    expect(AIRFLOW_SSO_SESSION_MINUTES * 60 + AIRFLOW_SSO_JWT_SECONDS).toBeLessThanOrEqual(6 * 3600);
    expect(config).toMatch(/^SESSION_REFRESH_EACH_REQUEST = False$/m);
    // The class overrides only methods FAB calls by those names, and the check refuses a misspelt one.
    expect(classMethods(config, "SsoSecurityManager")).toEqual(["get_oauth_user_info", "auth_user_oauth", "before_request"]);
    expect(classMethods(config, "SsoSecurityManager").filter((name) => !FAB_SECURITY_MANAGER_HOOKS.has(name))).toEqual([]);
    expect(classMethods(config.replace("def before_request(", "def before_requests("), "SsoSecurityManager").filter((name) => !FAB_SECURITY_MANAGER_HOOKS.has(name))).toEqual(["before_requests"]);
    expect(topLevelNames(config)).toEqual(expect.arrayContaining(["time", "flask", "fab_const", "flask_login", "FabAirflowSecurityManagerOverride"]));
  });

  it("rolls the API servers when the generated config changes: its hash is on their pods, and the check refuses a key the chart does not put on the pod", () => {
    const release = rendered.releases.find((candidate) => candidate.name === "airflow") as ChartRelease;
    expect([release.chart, release.version]).toEqual([AIRFLOW_CHART.chart, AIRFLOW_CHART.version]);
    const hash = createHash("sha256").update(config).digest("hex");
    expect(apiServerPodAnnotations(release, values)[AIRFLOW_SSO_CONFIG_CHECKSUM]).toBe(hash);
    // Another allowed group: another file, another hash.
    const changed = parseEnvironment({ ...withSso(cloud), sso: { ...SSO, allowedGroups: ["data-team"], allowedDomains: [...SSO.allowedDomains] } });
    const changedValues = renderedApps(Testing.synth(new AppsStack(Testing.app(), changed))).releases.find((candidate) => candidate.name === "airflow")?.values as Record<string, Record<string, unknown>>;
    expect(changedValues.apiServer.apiServerConfig).not.toBe(config);
    expect(apiServerPodAnnotations(release, changedValues)[AIRFLOW_SSO_CONFIG_CHECKSUM]).toBe(createHash("sha256").update(String(changedValues.apiServer.apiServerConfig)).digest("hex"));
    // The Deployment's own annotations are a key the chart reads, but not on the pod template: no rollout.
    const { podAnnotations, ...apiServer } = values.apiServer;
    const misplaced = { ...values, apiServer: { ...apiServer, annotations: podAnnotations } };
    expect(unknownPaths(loadChart("airflow"), misplaced)).toEqual([]);
    expect(apiServerPodAnnotations(release, misplaced)[AIRFLOW_SSO_CONFIG_CHECKSUM]).toBeUndefined();
  });

  it("stores the token's email only when the provider has not marked it unverified, else FAB's unique placeholder", () => {
    expect(config).toContain('        email = "" if claims.get("email_verified") is False else str(claims.get("email") or "")\n');
    expect(config).toContain("            email=email,\n");
    expect(config).toMatch(/^ {8}if allowed_domains and \(claims\.get\("email_verified"\) is False or /m);
  });

  it("keeps no password user: the user job is off and no admin password is generated", () => {
    expect((values.createUserJob as { enabled?: boolean }).enabled).toBe(false);
    expect(rendered.objects.filter(({ object }) => object.metadata.name === "airflow-admin" && object.metadata.namespace === "airflow").map(({ object }) => `${object.kind} ${object.metadata.namespace}`)).toEqual([]);
  });
});

describe("the generated config with hostile spec values", () => {
  const settings: SsoSettings = {
    issuer: "https://id.example.com/realms/data",
    clientId: "client {{ .Values.x }}",
    allowedGroups: ['"quoted"', "it's", "back\\slash", "new\nline", "${var.x}", "%{ if x }", "ünï", "😀", "{{ tpl }}"],
    allowedDomains: [],
    adminGroup: "admins\"; import os; #",
    groupsClaim: "https://example.com/groups",
    endpoints: { authorization: "", token: "", userinfo: "" },
  };
  const config = airflowWebserverConfig(settings);

  it("keeps every value a literal that decodes back to it, and the file free of template sequences", () => {
    expect(listAssigned(config, "allowed_groups")).toEqual(settings.allowedGroups);
    expect(stringAssigned(config, "admin_group")).toBe(settings.adminGroup);
    expect(stringAssigned(config, "client_id")).toBe(settings.clientId);
    expect(stringAssigned(config, "groups_claim")).toBe(settings.groupsClaim);
    expect(pythonShapeProblems(config)).toEqual([]);
    expect(config).not.toMatch(/\{\{|[$%]\{/);
  });

  it("admits everyone the domains admit as User when no groups restrict", () => {
    expect(stringAssigned(airflowWebserverConfig({ ...settings, allowedGroups: [], allowedDomains: ["Example.com"] }), "AUTH_USER_REGISTRATION_ROLE")).toBe("User");
    expect(listAssigned(airflowWebserverConfig({ ...settings, allowedGroups: [], allowedDomains: ["Example.com"] }), "allowed_domains")).toEqual(["example.com"]);
  });

  it("the shape check refuses a raw quote, a tab and an open bracket", () => {
    expect(pythonShapeProblems('x = "a"b"\n\ty = 1\nz = dict(\n')).toEqual(["line 1: an unterminated string", "line 2: a tab", "end: ( left open"]);
    expect(() => pythonStringValue('"\\x41"')).toThrow(/escape/);
  });
});

describe("Airflow without sso", () => {
  const rendered = renderedApps(Testing.synth(new AppsStack(Testing.app(), parseEnvironment(everyAppSpec("aws", true)))));
  const values = rendered.releases.find((release) => release.name === "airflow")?.values as Record<string, Record<string, unknown>>;

  it("keeps its own login: the generated admin password and the user job, no sign-in config", () => {
    expect(rendered.objects.filter(({ object }) => object.metadata.name === "airflow-admin" && object.metadata.namespace === "airflow").map(({ object }) => object.kind)).toEqual(["ExternalSecret"]);
    expect(values.createUserJob.enabled).toBeUndefined();
    expect(values.apiServer.apiServerConfig).toBeUndefined();
    expect((values.config as Record<string, unknown>).fab).toBeUndefined();
  });
});
