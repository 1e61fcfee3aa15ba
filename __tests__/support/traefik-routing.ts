/**
 * How Traefik v3.7 routes an HTTP request among the Kubernetes Ingresses of an apps stack, and
 * what an `ipAllowList` Middleware does with it: enough to ask "which router serves this request,
 * and does it reach the backend?". Encoded from traefik/traefik v3.7.9 (the chart 41.3.0 deploys
 * v3.7.11; these files are the newest the mirror holds):
 * - pkg/provider/kubernetes/ingress/kubernetes.go `loadRouter`, `buildRule`: one router per
 *   Ingress path; rule `Host("<host>") && <matcher>("<path>")` with matcher `Path` for pathType
 *   Exact and `PathPrefix` otherwise (strictPrefixMatching off, the chart's default; the
 *   `router.pathmatcher` annotation only for ImplementationSpecific); middlewares from the
 *   `traefik.ingress.kubernetes.io/router.middlewares` annotation, priority from `router.priority`.
 *   Ingresses of another class are not Traefik's (its IngressClass is `INGRESS_CLASS`).
 * - pkg/server/router/router.go: priority 0 becomes `len(rule)` (pkg/muxer/http/mux.go
 *   `GetRulePriority`); routers sort by priority, highest first (`routes.Less`), the first that
 *   matches serves. A router whose middleware cannot be resolved is not built (its error is
 *   recorded and the next router gets the request).
 * - pkg/server/server_entrypoint_tcp.go `sanitizePath` (on by default: pkg/config/static/
 *   entrypoints.go): `URL.JoinPath()`, Go's cleaning of `//`, `/./`, `/../`, keeping a trailing `/`.
 * - pkg/muxer/http/mux.go `withRoutingPath`: matchers see the escaped path with every
 *   percent-encoding decoded except the reserved characters (`reservedCharacters`, `%25` included).
 * - pkg/muxer/http/matcher.go: `Path` is equality and `PathPrefix` a string prefix of that routing
 *   path; `Host` compares lower-cased, a trailing `.` on the request's host ignored.
 * - Middleware names: `<namespace>-<name>@kubernetescrd` (pkg/provider/kubernetes/crd/kubernetes.go
 *   `makeID`); a name without `@provider` is qualified with the referring provider's
 *   (`kubernetes` for an Ingress), where no Middleware object lives.
 * - pkg/middlewares/ipallowlist/ip_allowlist.go with pkg/ip/checker.go and strategy.go: the client
 *   is the connection's remote address unless `ipStrategy.depth` > 0, which takes the
 *   X-Forwarded-For entry at that depth from the right; outside `sourceRange` (IPs and CIDRs) the
 *   answer is `rejectStatusCode`, 403 by default.
 */
import { isIPv4, isIPv6 } from "node:net";
import { DATAHUB_FRONTEND_SERVICE } from "../../constructs/apps/datahub";
import type { ChartRelease, KubeObject } from "../../scripts/rendered-apps";

/** A router built from one Ingress path. */
export interface TraefikRouter {
  /** `<namespace>/<ingress name>` and the path, for messages. */
  readonly source: string;
  readonly namespace: string;
  readonly rule: string;
  readonly priority: number;
  readonly host: string;
  readonly matcher: "Path" | "PathPrefix";
  readonly path: string;
  readonly middlewares: readonly string[];
  readonly backend: unknown;
}

/** A request as it reaches Traefik. */
export interface TraefikRequest {
  readonly host: string;
  /** The request target's path, as sent (percent-encodings included), without the query. */
  readonly path: string;
  /** The connection's remote address. */
  readonly remoteAddr: string;
  readonly xForwardedFor?: string;
}

/** Which router served the request and what happened: `forwarded` to its backend, or the status a middleware answered. */
export type Outcome = { readonly router: string; readonly result: "forwarded" | number } | { readonly router: undefined; readonly result: 404 };

const ANNOTATION = "traefik.ingress.kubernetes.io/router.";

interface IngressSpec {
  ingressClassName?: string;
  rules?: { host?: string; http?: { paths?: { path?: string; pathType?: string; backend?: unknown }[] } }[];
}

/** The routers Traefik's Ingress provider builds from an Ingress of its class (none from another class). */
export function ingressRouters(ingress: KubeObject, ingressClass: string): TraefikRouter[] {
  const spec = (ingress.spec ?? {}) as IngressSpec;
  if (spec.ingressClassName !== ingressClass) return [];
  const namespace = String(ingress.metadata.namespace);
  const annotations = ingress.metadata.annotations ?? {};
  const middlewares = (annotations[`${ANNOTATION}middlewares`] ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "")
    .map((name) => (name.includes("@") ? name : `${name}@kubernetes`));
  const explicitPriority = Number(annotations[`${ANNOTATION}priority`] ?? 0);
  const pathMatcher = annotations[`${ANNOTATION}pathmatcher`];
  return (spec.rules ?? []).flatMap((rule) =>
    (rule.http?.paths ?? []).map((path) => {
      const implementationSpecific = path.pathType === undefined || path.pathType === "" || path.pathType === "ImplementationSpecific";
      const matcher = path.pathType === "Exact" ? "Path" : implementationSpecific && pathMatcher === "Path" ? "Path" : "PathPrefix";
      const parts = [...(rule.host ? [`Host(${JSON.stringify(rule.host)})`] : []), ...(path.path ? [`${matcher}(${JSON.stringify(path.path)})`] : [])];
      const text = parts.join(" && ");
      return {
        source: `${namespace}/${String(ingress.metadata.name)} ${path.path ?? ""}`,
        namespace,
        rule: text,
        priority: explicitPriority !== 0 ? explicitPriority : text.length,
        host: rule.host ?? "",
        matcher,
        path: path.path ?? "",
        middlewares,
        backend: path.backend,
      };
    }),
  );
}

const RESERVED = new Set(["%3A", "%2F", "%3F", "%23", "%5B", "%5D", "%40", "%21", "%24", "%26", "%27", "%28", "%29", "%2A", "%2B", "%2C", "%3B", "%3D", "%25"]);

/** net/url `URL.JoinPath()` on the escaped path: path.Join (Go's Clean), then one trailing `/` kept if the path had one. */
function cleanPath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  const cleaned = `/${out.join("/")}`;
  return path.endsWith("/") && cleaned !== "/" ? `${cleaned}/` : cleaned;
}

/** The path the matchers compare: sanitized, then every non-reserved percent-encoding decoded. */
export function routingPath(path: string): string {
  return cleanPath(path).replace(/%[0-9A-Fa-f]{2}/g, (encoded) => (RESERVED.has(encoded.toUpperCase()) ? encoded : decodeURIComponent(encoded)));
}

function hostMatches(routerHost: string, requestHost: string): boolean {
  if (routerHost === "") return true;
  const request = requestHost.toLowerCase().replace(/:\d+$/, "");
  const expected = routerHost.toLowerCase();
  return request === expected || request === `${expected}.` || `${request}.` === expected;
}

function parseAddress(address: string): { family: 4 | 6; value: bigint } | undefined {
  const bare = address.replace(/^\[(.*)\](:\d+)?$/, "$1").replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, "$1");
  if (isIPv4(bare)) return { family: 4, value: bare.split(".").reduce((sum, octet) => (sum << 8n) + BigInt(Number(octet)), 0n) };
  if (isIPv6(bare)) {
    const [head, tail] = bare.includes("::") ? bare.split("::") : [bare, undefined];
    const groups = (part: string | undefined) => (part ? part.split(":") : []);
    const left = groups(head);
    const right = groups(tail);
    const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
    return { family: 6, value: all.reduce((sum, group) => (sum << 16n) + BigInt(parseInt(group, 16)), 0n) };
  }
  return undefined;
}

/** Whether an address is in one of the allow list's entries (IPs or CIDRs; pkg/ip/checker.go). */
export function inSourceRange(address: string, sourceRange: readonly string[]): boolean {
  const client = parseAddress(address);
  if (!client) return false;
  return sourceRange.some((entry) => {
    const [ip, bits] = entry.split("/");
    const network = parseAddress(ip);
    if (!network || network.family !== client.family) return false;
    const width = network.family === 4 ? 32 : 128;
    const prefix = bits === undefined ? width : Number(bits);
    const shift = BigInt(width - prefix);
    return client.value >> shift === network.value >> shift;
  });
}

/** The client an ipAllowList sees (pkg/ip/strategy.go). */
function clientOf(request: TraefikRequest, ipStrategy: { depth?: number } | undefined): string {
  const depth = ipStrategy?.depth ?? 0;
  if (depth <= 0) return request.remoteAddr;
  const entries = (request.xForwardedFor ?? "").split(",").map((entry) => entry.trim());
  return entries.length >= depth ? entries[entries.length - depth] : "";
}

/**
 * Routes a request among the routers, with the Middleware objects of the stack: the highest
 * priority router that matches, skipping those whose middleware does not resolve; then its
 * middlewares in order (only ipAllowList is modelled; any other kind is refused by the model).
 */
export function route(routers: readonly TraefikRouter[], middlewares: readonly KubeObject[], request: TraefikRequest): Outcome {
  const byId = new Map(middlewares.map((m) => [`${String(m.metadata.namespace)}-${String(m.metadata.name)}@kubernetescrd`, m]));
  const path = routingPath(request.path);
  const built = routers.filter((router) => router.middlewares.every((id) => byId.has(id)));
  const sorted = [...built].sort((a, b) => b.priority - a.priority);
  const router = sorted.find((candidate) => hostMatches(candidate.host, request.host) && (candidate.path === "" || (candidate.matcher === "Path" ? path === candidate.path : path.startsWith(candidate.path))));
  if (!router) return { router: undefined, result: 404 };
  for (const id of router.middlewares) {
    const spec = (byId.get(id)?.spec ?? {}) as Record<string, unknown>;
    const allow = spec.ipAllowList as { sourceRange?: string[]; rejectStatusCode?: number; ipStrategy?: { depth?: number } } | undefined;
    if (allow === undefined || Object.keys(spec).length !== 1) throw new Error(`${id}: only a Middleware with ipAllowList alone is modelled`);
    if (!inSourceRange(clientOf(request, allow.ipStrategy), allow.sourceRange ?? [])) return { router: router.source, result: allow.rejectStatusCode ?? 403 };
  }
  return { router: router.source, result: "forwarded" };
}

/**
 * The datahub chart's frontend Ingress as its template renders it from the release's values
 * (acryldata/datahub-helm datahub-1.1.0 charts/datahub/subcharts/datahub-frontend/templates/
 * ingress.yaml: per host, `redirectPaths` then `paths`, each with `ingress.pathType`, to
 * `<fullname>:<service.port>`; fullname `<release>-datahub-frontend`).
 */
export
function datahubChartIngress(release: ChartRelease): KubeObject {
  const ingress = (release.values["datahub-frontend"] as { ingress: Record<string, unknown> }).ingress;
  const hosts = ingress.hosts as { host: string; paths: string[]; redirectPaths: { path: string; name: string; port: number }[] }[];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: `${release.name}-datahub-frontend`, namespace: release.namespace, annotations: ingress.annotations as Record<string, string> },
    spec: {
      ingressClassName: ingress.className,
      rules: hosts.map((host) => ({
        host: host.host,
        http: {
          paths: [
            ...host.redirectPaths.map((redirect) => ({ path: redirect.path, pathType: ingress.pathType, backend: { service: { name: redirect.name, port: { number: redirect.port } } } })),
            ...host.paths.map((path) => ({ path, pathType: ingress.pathType, backend: { service: { name: `${release.name}-datahub-frontend`, port: { number: DATAHUB_FRONTEND_SERVICE.port } } } })),
          ],
        },
      })),
    },
  };
}
