/**
 * Traefik redirects every plain-HTTP request to HTTPS, permanently, except ACME HTTP-01
 * challenges, checked against the consumers: the chart's template that turns `ports` values into
 * Traefik's command line, and Traefik's redirection router built from those flags.
 *
 * Encoded from:
 * - traefik/traefik-helm-chart v41.3.0 traefik/templates/_podtemplate.tpl (the `range $name,
 *   $config := $.Values.ports` block: `(.redirections).entryPoint` fails unless `to` is a key of
 *   `ports`, fails when the target's `http.tls.enabled` is set and `scheme` is set to anything
 *   but https, then renders `to=:<ports[to].exposedPort>`, `scheme`, `priority`, `permanent` when
 *   the key is present; `allowACMEByPass` renders `--entryPoints.<name>.allowACMEByPass=true`),
 *   and traefik/values.yaml (ports.websecure.exposedPort 443, ports.websecure.http.tls.enabled true);
 * - traefik/traefik v3.7.9 pkg/provider/traefik/internal.go (redirection routers: rule
 *   `HostRegexp(`^.+$`)`, and with allowACMEByPass `... && !PathPrefix(`/.well-known/acme-challenge/`)`).
 */
import { describe, expect, it } from "vitest";
import { parseEnvironment } from "../../constructs/core/spec";
import { everyAppSpec, synthApps } from "../support/fixtures";
import { renderedApps } from "../../scripts/rendered-apps";

type Values = Record<string, unknown>;
const map = (value: unknown): Values => (value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Values) : {});

/** The chart's defaults for the entry points the template reads here (values.yaml v41.3.0). */
const CHART_PORTS: Values = {
  traefik: { port: 8080, exposedPort: 8080 },
  web: { port: 8000, exposedPort: 80, allowACMEByPass: false, http: { redirections: { entryPoint: {} } } },
  websecure: { port: 8443, exposedPort: 443, http: { tls: { enabled: true } } },
  metrics: { port: 9100, exposedPort: 9100 },
};

function merge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = typeof value === "object" && value !== null && !Array.isArray(value) ? merge(map(base[key]), value as Values) : value;
  return out;
}

/** The entry-point redirect and ACME flags the template renders, or the template's failure. */
function entryPointArgs(releasePorts: Values): string[] {
  const ports = merge(CHART_PORTS, releasePorts);
  const args: string[] = [];
  for (const [name, config] of Object.entries(ports).sort(([a], [b]) => a.localeCompare(b))) {
    const entry = map(config);
    const redirect = map(map(map(entry.http).redirections).entryPoint);
    // `with` skips an empty map.
    if (Object.keys(redirect).length > 0) {
      const to = String(redirect.to);
      if (!(to in ports)) throw new Error(`ERROR: Cannot redirect ${name} to ${to}: entryPoint not found`);
      const target = map(ports[to]);
      if (map(map(target.http).tls).enabled && redirect.scheme && redirect.scheme !== "https") throw new Error(`ERROR: Cannot redirect ${name} to ${to} without setting scheme to https`);
      args.push(`--entryPoints.${name}.http.redirections.entryPoint.to=:${String(target.exposedPort)}`);
      if (redirect.scheme) args.push(`--entryPoints.${name}.http.redirections.entryPoint.scheme=${String(redirect.scheme)}`);
      if (redirect.priority) args.push(`--entryPoints.${name}.http.redirections.entryPoint.priority=${String(redirect.priority)}`);
      if ("permanent" in redirect) args.push(`--entryPoints.${name}.http.redirections.entryPoint.permanent=${String(redirect.permanent)}`);
    }
    if (entry.allowACMEByPass) args.push(`--entryPoints.${name}.allowACMEByPass=true`);
  }
  return args;
}

/** Whether Traefik's redirection router of an entry point takes a request for `path` (internal.go). */
function redirected(args: readonly string[], entryPoint: string, path: string): boolean {
  if (!args.some((arg) => arg.startsWith(`--entryPoints.${entryPoint}.http.redirections.entryPoint.to=`))) return false;
  const bypass = args.includes(`--entryPoints.${entryPoint}.allowACMEByPass=true`);
  return !(bypass && path.startsWith("/.well-known/acme-challenge/"));
}

const traefikPorts = (() => {
  const stack = renderedApps(synthApps(parseEnvironment(everyAppSpec("aws", true))));
  const release = stack.releases.find((candidate) => candidate.chart === "traefik");
  if (!release) throw new Error("no traefik release");
  return map(release.values.ports);
})();

describe("Traefik: HTTP to HTTPS", () => {
  const args = entryPointArgs(traefikPorts);

  it("renders a permanent redirect of the web entry point to websecure's public port, with the ACME bypass", () => {
    expect(args).toEqual([
      "--entryPoints.web.http.redirections.entryPoint.to=:443",
      "--entryPoints.web.http.redirections.entryPoint.scheme=https",
      "--entryPoints.web.http.redirections.entryPoint.permanent=true",
      "--entryPoints.web.allowACMEByPass=true",
    ]);
  });

  it("redirects every request but the HTTP-01 challenge path, which cert-manager's solver Ingress answers on port 80", () => {
    expect(redirected(args, "web", "/")).toBe(true);
    expect(redirected(args, "web", "/login?next=/admin")).toBe(true);
    expect(redirected(args, "web", "/.well-known/acme-challenge/token")).toBe(false);
    expect(redirected(args, "websecure", "/")).toBe(false);
  });

  it("the template model rejects what the chart rejects, and without the bypass the challenge would be redirected", () => {
    expect(() => entryPointArgs({ web: { http: { redirections: { entryPoint: { to: "https" } } } } })).toThrow(/entryPoint not found/);
    expect(() => entryPointArgs({ web: { http: { redirections: { entryPoint: { to: "websecure", scheme: "http" } } } } })).toThrow(/without setting scheme to https/);
    const noBypass = entryPointArgs({ web: { http: { redirections: { entryPoint: { to: "websecure", scheme: "https", permanent: true } } } } });
    expect(redirected(noBypass, "web", "/.well-known/acme-challenge/token")).toBe(true);
  });
});

/**
 * The Service the chart renders from `service` (traefik-helm-chart v41.3.0 templates/service.yaml
 * and _service.tpl: `service.spec` is written into the Service as it is, over values.yaml's
 * `spec.type: LoadBalancer`; the other keys the templates read under `service` are `enabled`,
 * `nameOverride`, `single`, `annotations`, `annotationsTCP`, `annotationsUDP`, `labels`,
 * `additionalServices`), checked against the API server's Service validation (kubernetes v1.31.0
 * pkg/apis/core/validation/validation.go validateServiceExternalTrafficPolicy:
 * `externalTrafficPolicy` is Cluster or Local, and only on NodePort and LoadBalancer Services).
 */
const SERVICE_KEYS_READ = ["enabled", "nameOverride", "single", "annotations", "annotationsTCP", "annotationsUDP", "labels", "spec", "additionalServices"];
function renderedServiceSpec(service: Values): Values {
  const unread = Object.keys(service).filter((key) => !SERVICE_KEYS_READ.includes(key));
  if (unread.length > 0) throw new Error(`service.${unread.join(", service.")}: read by no template of traefik 41.3.0`);
  const spec = merge({ type: "LoadBalancer" }, map(service.spec));
  const policy = spec.externalTrafficPolicy;
  if (policy !== undefined && policy !== "Cluster" && policy !== "Local") throw new Error(`spec.externalTrafficPolicy: Unsupported value: ${String(policy)}`);
  if (policy !== undefined && spec.type !== "LoadBalancer" && spec.type !== "NodePort") throw new Error("spec.externalTrafficPolicy: may only be set for externally-accessible services");
  return spec;
}

describe("Traefik: the load balancer keeps the client's address", () => {
  const stack = renderedApps(synthApps(parseEnvironment(everyAppSpec("azure", true))));
  const release = stack.releases.find((candidate) => candidate.chart === "traefik");
  if (!release) throw new Error("no traefik release");

  it("renders a LoadBalancer Service with externalTrafficPolicy Local", () => {
    expect(renderedServiceSpec(map(release.values.service))).toEqual({ type: "LoadBalancer", externalTrafficPolicy: "Local" });
  });

  it("the model rejects a key no template reads and what the API server rejects", () => {
    expect(() => renderedServiceSpec({ type: "LoadBalancer" })).toThrow(/service.type: read by no template/);
    expect(() => renderedServiceSpec({ spec: { externalTrafficPolicy: "local" } })).toThrow(/Unsupported value/);
    expect(() => renderedServiceSpec({ spec: { type: "ClusterIP", externalTrafficPolicy: "Local" } })).toThrow(/externally-accessible/);
  });
});
