import type { Construct } from "constructs";
import type { ClusterServices, CloudPlatform, ForeignBucketServices, ForeignDatabaseServices } from "./core/interfaces";
import {
  clusterEgressCrossing,
  clusterIssuerCrossing,
  databaseAdminSecretCrossing,
  databaseHostCrossing,
  identityClientIdCrossing,
  projectNumberCrossing,
  vpnGatewayAddressesCrossing,
  vpnPresharedKeysCrossing,
  vpnTunnelAddressesCrossing,
  type Crossing,
  type Receive,
} from "./core/crossings";
import { appsWithBucketsOn, CLOUDS as CLOUDS_LIST, databaseNetworkClouds, eachKnown, homeOf, homeProblem, otherClouds, placedOn, type Cloud, type DatabaseSpec, type Environment, type Report } from "./core/spec";
import { planSubnets } from "./core/network-plan";
import { gkeIssuer, gkeVpnClients, planGcpAddresses } from "./gcp/facts";
import { aksIssuerPattern } from "./azure/facts";
import { awsSpecProblems } from "./aws/spec-problems";
import { azureSpecProblems } from "./azure/spec-problems";
import { gcpSpecProblems } from "./gcp/spec-problems";

/** What each cloud brings: its platform, and the spec rules only it has. */
interface CloudEntry {
  /** Loads the cloud's constructs on first use (see `cloudModule`). */
  readonly platform: (scope: Construct, env: Environment) => CloudPlatform;
  /**
   * Pure checks of a spec on this cloud, run with the spec's own checks (before any stack is
   * built) so they are reported with the file and together with every other problem.
   * `workspaces` are the environment's Terraform Cloud workspaces when it uses Terraform Cloud.
   * They and what they import (`<cloud>/facts.ts`) load no construct and no provider binding.
   */
  readonly specProblems: (env: Environment, report: Report, workspaces: readonly string[]) => void;
  /**
   * The issuer of the cluster's service-account tokens, where it follows from the spec alone
   * (GKE). EKS's and AKS's contain generated ids: they cross from `<env>-infra` to the stacks
   * that trust them (`clusterIssuerCrossing`).
   */
  readonly clusterIssuer?: (env: Environment) => string;
  /**
   * Where the issuer is generated: a pattern (`*`) that every issuer of the environment's cluster
   * matches, from the spec (AKS's location and tenant), for another cloud's run identity that
   * manages its trust (AWS's OpenID Connect provider). Absent where not known (EKS, whose own
   * stack holds its provider).
   */
  readonly clusterIssuerPattern?: (env: Environment) => string;
  /** This cloud's buckets for apps on another cloud's cluster (docs/design/cross-cloud.md). */
  readonly foreignBuckets: ForeignBucketsEntry;
  /**
   * Where this cloud's network can hold databases for a cluster on another cloud, over a
   * site-to-site VPN (`CloudPlatform.databaseNetwork`, `remoteDatabase`): those databases as the
   * apps reach them; `receive` takes the crossings into `<env>-apps`. Absent where not built.
   */
  readonly foreignDatabases?: (env: Environment, receive: Receive) => ForeignDatabaseServices;
  /**
   * Where this cloud's cluster network has its side of that VPN (`CloudPlatform.vpnGateway`): the
   * ranges its pods reach a remote database from, as the database's network sees them. Absent
   * where not built.
   */
  readonly vpnClients?: (env: Environment) => string[];
}

/** What a cloud's buckets serving another cloud's cluster need. */
interface ForeignBucketsEntry {
  /** The storage admits the cluster's NAT addresses alone on its public endpoint, so it receives them (`clusterEgressCrossing`). */
  readonly firewall: boolean;
  /**
   * What the apps' pods need from `<env>-infra-<cloud>` that its cloud generates, crossing to
   * `<env>-apps`; the identities publish the values (`IWorkloadIdentity.crossingValues`).
   */
  readonly intoApps: (env: Environment) => Crossing[];
  /**
   * `<env>-infra-<cloud>` can run in Terraform Cloud: its run identity on this cloud is built for a
   * stack without a cluster (GCP's is not: docs/design/cross-cloud.md).
   */
  readonly terraformCloud: boolean;
  /** The buckets and credentials as the apps reach them; `receive` takes the crossings into `<env>-apps`. */
  readonly services: (env: Environment, receive: Receive) => ForeignBucketServices;
}

/** A cloud's construct module (`constructs/<cloud>/index.ts`). */
export interface CloudModules {
  readonly aws: typeof import("./aws");
  readonly azure: typeof import("./azure");
  readonly gcp: typeof import("./gcp");
}

/**
 * A cloud's constructs, and through them its provider bindings (@cdktf/provider-aws, -azurerm,
 * -google: most of synth's module loading), are loaded when an environment of that cloud is
 * first built, not when this module loads: checking every spec of a fleet and building one AWS
 * environment (`synth --only`) loads no Azure or GCP binding. `require` (the project is CommonJS:
 * package.json has no "type", tsx runs it as such) runs synchronously inside a stack's constructor.
 */
const LOADERS: { readonly [C in Cloud]: () => CloudModules[C] } = {
  aws: () => require("./aws") as CloudModules["aws"],
  azure: () => require("./azure") as CloudModules["azure"],
  gcp: () => require("./gcp") as CloudModules["gcp"],
};

const loaded: { -readonly [C in Cloud]?: CloudModules[C] } = {};

function cloudModule<C extends Cloud>(cloud: C): CloudModules[C] {
  try {
    return (loaded[cloud] ??= LOADERS[cloud]());
  } catch (error) {
    if ((error as { code?: unknown }).code !== "MODULE_NOT_FOUND") throw error;
    throw new Error(`constructs/${cloud} could not be required (${(error as Error).message.split("\n")[0]}): a runner whose require cannot load TypeScript hands the cloud modules over with provideCloudModules first (vitest: __tests__/support/clouds.ts)`);
  }
}

/**
 * Hands over cloud modules already loaded, for a runner whose `require` cannot load TypeScript
 * (vitest: __tests__/support/clouds.ts, its setup file, imports them); the platforms are then
 * built from these, exactly as from the ones `require` would load.
 */
export function provideCloudModules(modules: Partial<CloudModules>): void {
  Object.assign(loaded, modules);
}

/** The only place that switches on the cloud: everything after it sees a `CloudPlatform`. */
const CLOUDS: Readonly<Record<Cloud, CloudEntry>> = {
  aws: {
    platform: (scope, env) => new (cloudModule("aws").AwsPlatform)(scope, "platform", env),
    specProblems: awsSpecProblems,
    foreignBuckets: { firewall: true, intoApps: () => [], terraformCloud: true, services: (env) => cloudModule("aws").awsForeignBuckets(env) },
    foreignDatabases: (env, receive) => cloudModule("aws").awsForeignDatabases(env, receive),
  },
  azure: {
    platform: (scope, env) => new (cloudModule("azure").AzurePlatform)(scope, "platform", env),
    specProblems: azureSpecProblems,
    foreignBuckets: {
      firewall: true,
      intoApps: (env) => appsWithBucketsOn(env, "azure").map(({ app }) => identityClientIdCrossing("azure", app.name)),
      terraformCloud: true,
      services: (env, receive) => cloudModule("azure").azureForeignBuckets(env, receive),
    },
    clusterIssuerPattern: (env) => {
      if (env.accounts.azure === undefined) throw new Error(`${env.name}: an AKS cluster without accounts.azure (the spec check should have caught this)`);
      return aksIssuerPattern(env.accounts.azure);
    },
    // With Azure CNI overlay, pod traffic leaving the VNet is SNATed to the node's address
    // (Microsoft Learn, "Azure CNI Overlay networking", how it works), so the nodes' subnet.
    vpnClients: (env) => [planSubnets(env.network.cidr, env.network.zones)[0].private],
  },
  gcp: {
    platform: (scope, env) => new (cloudModule("gcp").GcpPlatform)(scope, "platform", env),
    specProblems: gcpSpecProblems,
    clusterIssuer: gkeIssuer,
    // Identity is the boundary: Cloud Storage has no address firewall outside VPC Service Controls.
    // Terraform Cloud not yet: its run account may not create workload identity pools (README, "Its trust anchor is not its own").
    foreignBuckets: { firewall: false, intoApps: () => [projectNumberCrossing()], terraformCloud: false, services: (env, receive) => cloudModule("gcp").gcpForeignBuckets(env, receive) },
    vpnClients: (env) => gkeVpnClients(planGcpAddresses(env)),
  },
};

/** The environment's platform on `cloud`: its own cloud's, or another cloud's for its `<env>-infra-<cloud>` stack. */
export function platformFor(scope: Construct, env: Environment, cloud: Cloud = env.cloud): CloudPlatform {
  return CLOUDS[cloud].platform(scope, env);
}

/**
 * The issuer another cloud's `<env>-infra-<cloud>` trusts for the environment's cluster: derived
 * from the spec where it can be (GKE), else received from `<env>-infra` (`clusterIssuerCrossing`).
 */
export function clusterIssuerOf(env: Environment, cloud: Cloud, receive: Receive): string {
  return CLOUDS[env.cloud].clusterIssuer?.(env) ?? receive(clusterIssuerCrossing(cloud));
}

/**
 * The cluster's issuer as another cloud's run identity may name it before it is known: exact where
 * the spec derives it (GKE), else a pattern every issuer of the cluster matches (AKS); undefined
 * where neither is built (EKS).
 */
export function clusterIssuerPatternOf(env: Environment): string | undefined {
  const entry = CLOUDS[env.cloud];
  return entry.clusterIssuer?.(env) ?? entry.clusterIssuerPattern?.(env);
}

/** `cloud`'s buckets as the environment's apps reach them from its cluster on another cloud. */
export function foreignBucketsOf(env: Environment, cloud: Cloud, receive: Receive): ForeignBucketServices {
  return CLOUDS[cloud].foreignBuckets.services(env, receive);
}

/**
 * Every value that crosses between the environment's stacks (`Crossing`), in stack order: per
 * other cloud with buckets, the cluster's issuer where it is generated, its NAT addresses where
 * that cloud's storage has a firewall and an app uses a bucket there, and what the apps' pods
 * need that the cloud generates (`intoApps`).
 * Terraform Cloud's gitops stack and `npm run deploy` pass exactly these.
 */
export function crossingsOf(env: Environment): Crossing[] {
  return otherClouds(env).flatMap((cloud) => {
    const foreign = CLOUDS[cloud].foreignBuckets;
    const buckets = env.buckets.some((bucket) => placedOn(env, bucket) === cloud);
    const databases = env.databases.filter((database) => placedOn(env, database) === cloud);
    // The apps stack reaches every database (its bootstrap jobs, the monitoring role), through an identity there trusting the cluster.
    const appsReachDatabases = databases.length > 0 && env.apps.length > 0;
    return [
      ...((buckets || appsReachDatabases) && CLOUDS[env.cloud].clusterIssuer === undefined ? [clusterIssuerCrossing(cloud)] : []),
      ...(admitsClusterEgress(env, cloud) ? [clusterEgressCrossing(cloud)] : []),
      ...(buckets ? foreign.intoApps(env) : []),
      ...(databases.length > 0 ? [vpnGatewayAddressesCrossing(cloud), vpnTunnelAddressesCrossing(cloud), vpnPresharedKeysCrossing(cloud)] : []),
      ...(appsReachDatabases ? databases.flatMap((database) => [databaseHostCrossing(cloud, database.name), databaseAdminSecretCrossing(cloud, database.name)]) : []),
    ];
  });
}

/** The ranges the cluster's pods reach a database on another cloud from (`CloudEntry.vpnClients`). */
export function vpnClientsOf(env: Environment): string[] {
  const clients = CLOUDS[env.cloud].vpnClients;
  if (clients === undefined) throw new Error(`${env.name}: the ${env.cloud} side of a VPN is not built (the spec check should have caught this)`);
  return clients(env);
}

/**
 * Whether `cloud`'s storage admits the cluster's NAT addresses (`clusterEgressCrossing`): it has a
 * firewall, and an app uses a bucket there; a bucket no app uses (one kept until its copy is
 * checked) admits none.
 */
export function admitsClusterEgress(env: Environment, cloud: Cloud): boolean {
  return CLOUDS[cloud].foreignBuckets.firewall && appsWithBucketsOn(env, cloud).length > 0;
}

/** Whether the cluster's NAT addresses cross to another cloud's storage firewall (`clusterEgressCrossing`). */
export function publishesClusterEgress(env: Environment): boolean {
  return crossingsOf(env).some((crossing) => crossing.name === clusterEgressCrossing(env.cloud).name);
}

/**
 * Which placements are built (docs/design/cross-cloud.md, "Build order"): a bucket on any cloud
 * for a cluster on any other, and a home the cluster moved away from; a database on another cloud
 * where both sides of the VPN are built; not yet Terraform Cloud where a foreign stack's run
 * identity is not built.
 */
export function placementProblems(env: Environment, report: Report): void {
  // A home that cannot be used is the spec's one message (checkPlacement): the placements it would default are not judged.
  if (otherClouds(env).length === 0 || homeProblem(env) !== undefined) return;
  eachKnown(env.databases, (database, index) => {
    const cloud = placedOn(env, database);
    if (cloud === env.cloud || (CLOUDS[cloud].foreignDatabases !== undefined && CLOUDS[env.cloud].vpnClients !== undefined)) return;
    const built = CLOUDS_LIST.flatMap((one) => (CLOUDS[one].foreignDatabases !== undefined ? CLOUDS_LIST.filter((other) => CLOUDS[other].vpnClients !== undefined).map((other) => `on ${one} for a cluster on ${other}`) : []));
    report(["databases", index, "cloud"], cloud, `"${env.cloud}", or a pair whose site-to-site VPN is built (${built.join("; ")}): a database on ${cloud} for a cluster on ${env.cloud} is not built yet (docs/design/cross-cloud.md, "Build order")`);
  });
  // The home a cluster left keeps a stack of its own (stackKindsOf), with its run identity, to the end.
  const foreignStackClouds = [...new Set([...otherClouds(env), homeOf(env)])].filter((cloud) => cloud !== env.cloud);
  const withoutTerraformCloud = foreignStackClouds.filter((cloud) => !CLOUDS[cloud].foreignBuckets.terraformCloud);
  if (env.terraformCloud !== undefined && withoutTerraformCloud.length > 0) {
    report(["terraformCloud"], env.terraformCloud, `none while a bucket or database lives on ${withoutTerraformCloud.join(", ")}: the Terraform Cloud run identity of ${env.name}-infra-${withoutTerraformCloud[0]} is not built yet (docs/design/cross-cloud.md, "Build order")`);
  }
}

/** The spec rules of the environment's cloud (see `CloudEntry.specProblems`). */
export function cloudSpecProblems(env: Environment, report: Report, workspaces: readonly string[]): void {
  CLOUDS[env.cloud].specProblems(env, report, workspaces);
}

/**
 * The cluster's services with each database on another cloud reached there, over the VPN: its
 * host and admin credential from that cloud (`CloudEntry.foreignDatabases`), read through a
 * ClusterSecretStore on that cloud's secret store by External Secrets, whose service account gets
 * that cloud's identity too, and its range in the NetworkPolicies. The services as they are when
 * every database is on the cluster's cloud.
 */
export function withForeignDatabases(env: Environment, services: ClusterServices, receive: Receive): ClusterServices {
  const foreign = new Map(
    databaseNetworkClouds(env).map((cloud) => {
      const databases = CLOUDS[cloud].foreignDatabases;
      if (databases === undefined) throw new Error(`${env.name}: databases on ${cloud} for a cluster on another cloud are not built (the spec check should have caught this)`);
      return [cloud, databases(env, receive)];
    }),
  );
  if (foreign.size === 0) return services;
  const on = (spec: DatabaseSpec) => foreign.get(placedOn(env, spec));
  const readerAnnotations = Object.assign({}, ...[...foreign.values()].map((one) => one.adminReaderAnnotations)) as Record<string, string>;
  // Every member, optional ones included: a member added to ClusterServices later must be passed on here too.
  const routed: { [K in keyof Required<ClusterServices>]: ClusterServices[K] } = {
    connection: services.connection,
    spotTaint: services.spotTaint,
    defaultStorageClass: services.defaultStorageClass,
    podNetwork: { ...services.podNetwork, databaseCidrs: [...services.podNetwork.databaseCidrs, ...[...foreign.values()].flatMap((one) => one.databaseCidrs)] },
    databaseHost: (spec) => on(spec)?.databaseHost(spec) ?? services.databaseHost(spec),
    adminCredentials: (spec) => on(spec)?.adminCredentials(spec) ?? services.adminCredentials(spec),
    adminSecretStores: [...(services.adminSecretStores ?? []), ...[...foreign.values()].map((one) => one.adminSecretStore)],
    bucket: (spec) => services.bucket(spec),
    workloadBinding: (workload) => {
      const binding = services.workloadBinding(workload);
      return workload === "external-secrets" ? { ...binding, serviceAccountAnnotations: { ...binding.serviceAccountAnnotations, ...readerAnnotations } } : binding;
    },
    secretStoreProvider: (serviceAccount) => services.secretStoreProvider(serviceAccount),
    externalDns: (zoneName) => services.externalDns(zoneName),
  };
  return routed;
}
