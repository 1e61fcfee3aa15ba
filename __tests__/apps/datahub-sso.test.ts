/**
 * DataHub with `sso`: the local password login is not reachable on the public host.
 *
 * Checked on the real synthesized apps stack of every cloud, and of every environment in
 * `environments/` with `sso` and DataHub, by asking Traefik: a model of its Ingress routing,
 * router priority and ipAllowList (support/traefik-routing.ts, from traefik/traefik v3.7.9) routes
 * requests among every Ingress of the stack plus the datahub chart's own Ingress as its template
 * renders it (acryldata/datahub-helm datahub-1.1.0 charts/datahub/subcharts/datahub-frontend/
 * templates/ingress.yaml: `redirectPaths` then `paths`, each with `ingress.pathType`, to
 * `<fullname>:<service.port>`).
 *
 * The frontend's routes are DataHub's own, datahub-project/datahub datahub-frontend/conf/routes
 * (source index, commit 013ac8f8; v1.7.0 not confirmed): `FRONTEND_ROUTES` below.
 */
import { describe, expect, it } from "vitest";
import { DATAHUB_PASSWORD_BLOCK, DATAHUB_PASSWORD_PATHS, DATAHUB_RELEASE } from "../../constructs/apps/datahub";
import { INGRESS_CLASS } from "../../constructs/apps/addons";
import { CLOUDS, parseEnvironment, type Cloud, type EnvironmentInput } from "../../constructs/core/spec";
import { defaultEnvironments, everyAppSpec, everyAppSpecWithSso, synthApps } from "../support/fixtures";
import { objectProblems } from "../support/kubernetes/checks";
import { renderedApps, type KubeObject, type RenderedApps } from "../../scripts/rendered-apps";
import { datahubChartIngress, ingressRouters, route, type TraefikRequest } from "../support/traefik-routing";

const withSso = (cloud: Cloud): EnvironmentInput => everyAppSpecWithSso(cloud);

/**
 * datahub-frontend conf/routes: method, path (`:x` and `*x` are Play's dynamic parts) and action.
 * The password endpoints are the AuthenticationController actions that read a password from the
 * body (AuthenticationController.java: `logIn` reads `password`; `signUp` a password and an invite
 * token; `resetNativeUserCredentials` a password and a reset token); `authenticate` and `sso`
 * only redirect to the provider or the login page.
 */
const FRONTEND_ROUTES: readonly { method: string; path: string; action: string; password?: true }[] = [
  { method: "GET", path: "/", action: "Application.index" },
  { method: "GET", path: "/admin", action: "Application.healthcheck" },
  { method: "GET", path: "/health", action: "Application.healthcheck" },
  { method: "GET", path: "/config", action: "Application.appConfig" },
  { method: "GET", path: "/authenticate", action: "AuthenticationController.authenticate" },
  { method: "GET", path: "/sso", action: "AuthenticationController.sso" },
  { method: "POST", path: "/logIn", action: "AuthenticationController.logIn", password: true },
  { method: "POST", path: "/signUp", action: "AuthenticationController.signUp", password: true },
  { method: "POST", path: "/resetNativeUserCredentials", action: "AuthenticationController.resetNativeUserCredentials", password: true },
  { method: "GET", path: "/callback/:protocol", action: "SsoCallbackController.handleCallback" },
  { method: "POST", path: "/callback/:protocol", action: "SsoCallbackController.handleCallback" },
  { method: "GET", path: "/logOut", action: "CentralLogoutController.executeLogout" },
  { method: "POST", path: "/oidcImplicitTokenExchange", action: "OidcImplicitController.exchangeTokenForSession" },
  { method: "POST", path: "/api/*path", action: "Application.proxy" },
  { method: "POST", path: "/openapi/*path", action: "Application.proxy" },
  { method: "POST", path: "/track", action: "TrackingController.track" },
  { method: "GET", path: "/assets/*file", action: "Assets.at" },
  { method: "GET", path: "/*path", action: "Application.index" },
];

/** A concrete path for a route pattern. */
const concrete = (pattern: string) => pattern.replace(/:[a-z]+/g, "oidc").replace(/\*[a-z]+/g, "v2/graphql");

interface Stack {
  readonly label: string;
  readonly host: string;
  readonly apps: RenderedApps;
}

/** The datahub frontend's `extraEnvs` in the release's values. */
const frontendEnv = (apps: RenderedApps): { name: string; value?: string }[] => {
  const frontend = apps.releases.find((r) => r.name === DATAHUB_RELEASE)?.values["datahub-frontend"] as { extraEnvs?: { name: string; value?: string }[] } | undefined;
  return frontend?.extraEnvs ?? [];
};

const kubeObjects = (apps: RenderedApps, kind: string): KubeObject[] =>
  apps.objects.filter(({ object }) => object.kind === kind).map(({ object, releaseNamespace }) => ({ ...object, metadata: { ...object.metadata, namespace: object.metadata.namespace ?? releaseNamespace } }));

/** Every router of the stack: its own Ingresses and the datahub chart's. */
function routers(apps: RenderedApps) {
  const datahub = apps.releases.find((release) => release.name === DATAHUB_RELEASE);
  if (!datahub) throw new Error("no datahub release");
  return [...kubeObjects(apps, "Ingress"), datahubChartIngress(datahub)].flatMap((ingress) => ingressRouters(ingress, INGRESS_CLASS));
}

const ask = (apps: RenderedApps, request: TraefikRequest) => route(routers(apps), kubeObjects(apps, "Middleware"), request);

/** Clients on the Internet, in the VPC, over IPv6, and loopback. */
const CLIENTS = ["203.0.113.7:51000", "10.0.3.4:40000", "[2001:db8::7]:443", "127.0.0.1:1234"];

/** Ways of spelling a path Traefik's sanitizing and decoding bring back to it. */
const spellings = (path: string): string[] => [
  path,
  `${path}/`,
  `/${path}`,
  `/assets/..${path}`,
  `/.${path}`,
  `${path.slice(0, 2)}%${path.charCodeAt(2).toString(16).toUpperCase()}${path.slice(3)}`,
  `${path.slice(0, 2)}%${path.charCodeAt(2).toString(16).toLowerCase()}${path.slice(3)}`,
];

const BLOCK_NAMES: readonly string[] = [DATAHUB_PASSWORD_BLOCK.ingress, DATAHUB_PASSWORD_BLOCK.middleware];
const BLOCK_ROUTER = (path: string) => `datahub/${DATAHUB_PASSWORD_BLOCK.ingress} ${path}`;
const CHART_ROUTER = `datahub/${DATAHUB_RELEASE}-datahub-frontend /`;

const stacks: Stack[] = [
  ...CLOUDS.map((cloud) => {
    const env = parseEnvironment(withSso(cloud));
    return { label: `every app on ${cloud} with sso`, host: String(env.apps.find((app) => app.name === "datahub")?.host), apps: renderedApps(synthApps(env)) };
  }),
  ...(() => {
    const all = defaultEnvironments();
    return all
      .filter((env) => env.sso !== undefined && env.apps.some((app) => app.name === "datahub" && app.host !== undefined))
      .map((env) => ({ label: `environments/ ${env.name}`, host: String(env.apps.find((app) => app.name === "datahub")?.host), apps: renderedApps(synthApps(env, all)) }));
  })(),
];

describe("DataHub's password endpoints", () => {
  it("are exactly the frontend's routes that take a password", () => {
    expect(FRONTEND_ROUTES.filter((r) => r.password).map((r) => r.path)).toEqual([...DATAHUB_PASSWORD_PATHS]);
    expect(stacks.some((stack) => stack.label.startsWith("environments/"))).toBe(true);
  });
});

describe.each(stacks.map((stack) => [stack.label, stack] as const))("DataHub with sso: %s", (_label, { host, apps }) => {
  it("refuses every password endpoint on the public host, however spelled, to every client", () => {
    const served = DATAHUB_PASSWORD_PATHS.flatMap((path) =>
      spellings(path).flatMap((spelling) =>
        [host, host.toUpperCase(), `${host}.`].flatMap((requestHost) =>
          CLIENTS.map((remoteAddr) => ({ spelling, requestHost, remoteAddr, outcome: ask(apps, { host: requestHost, path: spelling, remoteAddr }) })),
        ),
      ),
    );
    expect(served.length).toBe(DATAHUB_PASSWORD_PATHS.length * 7 * 3 * CLIENTS.length);
    expect(served.filter(({ outcome }) => outcome.result !== 403 || !String(outcome.router).startsWith(BLOCK_ROUTER("")))).toEqual([]);
  });

  it("still serves every other route of the frontend through the chart's Ingress: the OIDC sign-in, its callback, the app and the API", () => {
    const others = FRONTEND_ROUTES.filter((r) => !r.password).map((r) => concrete(r.path));
    expect(others.map((path) => ask(apps, { host, path, remoteAddr: CLIENTS[0] }))).toEqual(others.map(() => ({ router: CHART_ROUTER, result: "forwarded" })));
    // The React app's login page (GET /login) still loads; what it posts to (/logIn) is refused.
    expect(ask(apps, { host, path: "/login", remoteAddr: CLIENTS[0] })).toEqual({ router: CHART_ROUTER, result: "forwarded" });
  });

  it("turns native users off and keeps the JAAS `datahub` login for break-glass from inside the cluster", () => {
    const env = frontendEnv(apps);
    // datahub-frontend conf/application.conf: auth.native.enabled = ${?AUTH_NATIVE_ENABLED}, auth.jaas.enabled = ${?AUTH_JAAS_ENABLED} (on when unset).
    expect(env.filter((entry) => entry.name === "AUTH_NATIVE_ENABLED" || entry.name === "AUTH_JAAS_ENABLED")).toEqual([{ name: "AUTH_NATIVE_ENABLED", value: "false" }]);
  });

  it("the block's objects pass Kubernetes' names and schemas (Traefik's Middleware CRD of chart 41.3.0)", () => {
    const ours = { ...apps, objects: apps.objects.filter(({ object }) => BLOCK_NAMES.includes(String(object.metadata.name))) };
    expect(ours.objects.map(({ object }) => object.kind).sort()).toEqual(["Ingress", "Middleware"]);
    expect(objectProblems(ours)).toEqual([]);
    const withStrategy = structuredClone(ours) as RenderedApps;
    const middleware = withStrategy.objects.find(({ object }) => object.kind === "Middleware")?.object as unknown as { spec: { ipAllowList: Record<string, unknown> } };
    middleware.spec.ipAllowList.ipStrategy = { depth: 1 };
    expect(objectProblems(withStrategy).join("\n")).toContain("ipStrategy");
    const misspelt = structuredClone(ours) as RenderedApps;
    const ingress = misspelt.objects.find(({ object }) => object.kind === "Ingress")?.object as unknown as { spec: { rules: { http: { paths: Record<string, unknown>[] } }[] } };
    ingress.spec.rules[0].http.paths[0].pathTyp = "Prefix";
    expect(objectProblems(misspelt).join("\n")).toContain("pathTyp");
  });

  it("the model lets the password login through when the block is weakened: an Exact path, a middleware that does not resolve, a real source range, a client-written address, another class, no block", () => {
    const login = { host, path: "/logIn", remoteAddr: CLIENTS[0] };
    const variant = (change: (ingress: KubeObject, middleware: KubeObject) => void): RenderedApps => {
      const copy = structuredClone(apps) as RenderedApps;
      const find = (kind: string) => copy.objects.find(({ object }) => object.kind === kind && BLOCK_NAMES.includes(String(object.metadata.name)))?.object as KubeObject;
      change(find("Ingress"), find("Middleware"));
      return copy;
    };
    const ingressSpec = (object: KubeObject) => object.spec as { ingressClassName: string; rules: { http: { paths: { pathType: string }[] } }[] };
    const allowList = (object: KubeObject) => (object.spec as { ipAllowList: { sourceRange: string[]; ipStrategy?: { depth: number } } }).ipAllowList;
    // `Host("h") && Path("/logIn")` is one character shorter than the chart's `Host("h") && PathPrefix("/")`.
    const exact = variant((ingress) => ingressSpec(ingress).rules[0].http.paths.forEach((p) => (p.pathType = "Exact")));
    expect(ask(exact, login)).toEqual({ router: CHART_ROUTER, result: "forwarded" });
    const unresolved = variant((ingress) => ((ingress.metadata.annotations as Record<string, string>)["traefik.ingress.kubernetes.io/router.middlewares"] = DATAHUB_PASSWORD_BLOCK.middleware));
    expect(ask(unresolved, login)).toEqual({ router: CHART_ROUTER, result: "forwarded" });
    const privateRange = variant((_ingress, middleware) => (allowList(middleware).sourceRange = ["10.0.0.0/8"]));
    expect(ask(privateRange, { ...login, remoteAddr: CLIENTS[1] })).toEqual({ router: BLOCK_ROUTER("/logIn"), result: "forwarded" });
    const byHeader = variant((_ingress, middleware) => (allowList(middleware).ipStrategy = { depth: 1 }));
    expect(ask(byHeader, { ...login, xForwardedFor: "0.0.0.0" })).toEqual({ router: BLOCK_ROUTER("/logIn"), result: "forwarded" });
    const otherClass = variant((ingress) => (ingressSpec(ingress).ingressClassName = "nginx"));
    expect(ask(otherClass, login)).toEqual({ router: CHART_ROUTER, result: "forwarded" });
    const none = { ...apps, objects: apps.objects.filter(({ object }) => String(object.metadata.name) !== DATAHUB_PASSWORD_BLOCK.ingress) };
    expect(ask(none, login)).toEqual({ router: CHART_ROUTER, result: "forwarded" });
  });
});

describe.each(CLOUDS.map((cloud) => [cloud] as const))("DataHub without sso on %s", (cloud) => {
  const env = parseEnvironment(everyAppSpec(cloud, true));
  const apps = renderedApps(synthApps(env));
  const host = String(env.apps.find((app) => app.name === "datahub")?.host);
  it("keeps its own password login on the public host: nothing blocked, native users as DataHub sets them", () => {
    expect(kubeObjects(apps, "Middleware").map((m) => m.metadata.name)).not.toContain(DATAHUB_PASSWORD_BLOCK.middleware);
    expect(ask(apps, { host, path: "/logIn", remoteAddr: CLIENTS[0] })).toEqual({ router: CHART_ROUTER, result: "forwarded" });
    expect(frontendEnv(apps).length).toBeGreaterThan(0);
    expect(frontendEnv(apps).map((entry) => entry.name)).not.toContain("AUTH_NATIVE_ENABLED");
  });
});
