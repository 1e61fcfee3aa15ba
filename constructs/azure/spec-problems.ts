import { CLOUDS, eachKnown, known, placedOn, specSecretNames, type Environment, type Report } from "../core/spec";
import { cidrsOverlap, parseCidr, type Ipv4Cidr } from "../core/cidr";
import { AZURE_PAIRED_LOCATIONS } from "../core/regions";
import { agentSubnetCidr, aksPoolName, AZURE_CONTAINER_NAME, overlayRanges, reservedRangeMet, SYSTEM_POOL_NAME } from "./facts";
import { AZURE_POSTGRES_SKUS, POSTGRES_STORAGE_MB, postgresStorageMb } from "./sizes";

/**
 * The spec rules only Azure has, checked with every other spec rule (constructs/platform.ts
 * runs the one of the environment's cloud), so they are reported with the file and together with
 * the rest. Pure: they read the spec and the static tables the Azure constructs use.
 */
export function azureSpecProblems(env: Environment, report: Report): void {
  if (env.cloud !== "azure") return;
  // Key Vault object names: 1-127 letters, digits and '-' (learn.microsoft.com/azure/key-vault/
  // general/about-keys-secrets-certificates#object-identifiers).
  for (const { path, name } of specSecretNames(env)) {
    if (!/^[0-9A-Za-z-]{1,127}$/.test(name)) report(path, name, "on Azure, a Key Vault secret name: 1 to 127 letters, digits and '-'");
  }
  eachKnown(env.buckets, (bucket, index) => {
    if (!AZURE_CONTAINER_NAME.test(bucket.name)) report(["buckets", index, "name"], bucket.name, "on Azure, at least 3 characters and no '--' (it names a storage container)");
  });
  eachKnown(env.databases, (db, index) => {
    // A database on another cloud (over the VPN) has that cloud's rules.
    if (placedOn(env, db) !== "azure") return;
    known(() => {
      const skuName = db.azure?.skuName ?? AZURE_POSTGRES_SKUS[db.size];
      if (db.highAvailability && skuName.startsWith("B_")) {
        report(["databases", index, "azure", "skuName"], skuName, "a General Purpose (GP_) or Memory Optimized (MO_) SKU: burstable SKUs cannot run high availability");
      }
    });
    // Production servers have geo-redundant backups, whose customer-managed key must be in the
    // paired region (AzureDatabase): without a pair, the spec records that the server keeps
    // Microsoft-managed keys (the database-encrypted policy rule accepts that decision only).
    known(() => {
      const location = env.accounts.azure?.location;
      if (!env.production || location === undefined || AZURE_PAIRED_LOCATIONS[location] !== undefined || !(location in AZURE_PAIRED_LOCATIONS)) return;
      if (db.waivers.customerManagedKey === undefined) {
        report(["databases", index, "waivers", "customerManagedKey"], undefined, `a written reason in production in ${location}: it has no paired region for the customer-managed key of geo-redundant backups, so the server keeps Microsoft-managed keys (README, Azure defaults)`);
      }
    });
    known(() => {
      if (postgresStorageMb(db.storageGiB) === undefined) {
        const largest = POSTGRES_STORAGE_MB[POSTGRES_STORAGE_MB.length - 1] / 1024;
        report(["databases", index, "storageGiB"], db.storageGiB, `on Azure, at most ${largest} GiB (the largest Flexible Server disk)`);
      }
    });
  });
  // A network holding databases on another cloud is routed over the VPN; the overlay's pod and
  // service ranges stay on the nodes, so a remote range inside either would never leave them.
  known(() => {
    const overlay = overlayRanges(env.network.cidr);
    for (const cloud of CLOUDS) {
      const given = known(() => env.networks?.[cloud]?.cidr);
      const range = given === undefined ? undefined : parseCidr(given);
      if (given === undefined || range === undefined || cloud === "azure") continue;
      const met = ([["pod", overlay.podCidr], ["service", overlay.serviceCidr]] as const).find(([, overlayRange]) => cidrsOverlap(parseCidr(overlayRange) as Ipv4Cidr, range));
      if (met !== undefined) report(["networks", cloud, "cidr"], given, `on Azure, a range outside the cluster's overlay ${met[0]} range ${met[1]} (Azure CNI overlay keeps it inside the cluster)`);
    }
  });
  // The Terraform Cloud agents' subnet (with Terraform Cloud and apps) must stay outside the ranges Container Apps reserves.
  known(() => {
    if (!env.terraformCloud || env.apps.length === 0) return;
    const cidr = agentSubnetCidr(env.network.cidr);
    const reserved = reservedRangeMet(cidr);
    if (reserved !== undefined) {
      report(["network", "cidr"], env.network.cidr, `on Azure with Terraform Cloud agents, a range whose agent subnet ${cidr} stays outside ${reserved} (reserved by Azure Container Apps)`);
    }
  });
  // azurerm 4.55.0 log_analytics_workspace_resource.go: retention_in_days IntBetween(30, 730) for
  // the workspaces of the control plane's and the agents' logs.
  known(() => {
    const days = env.cluster.logRetentionDays;
    if (days < 30 || days > 730) report(["cluster", "logRetentionDays"], days, "on Azure 30 to 730 days, the retention a Log Analytics workspace takes");
  });
  // AKS pool names drop '-' and may not be the system pool's (see nodePoolNames in cluster.ts).
  // A name used twice as written is already reported by the spec's own uniqueness check.
  const taken = new Set<string>([SYSTEM_POOL_NAME]);
  const written = new Set<string>();
  eachKnown(env.cluster.nodePools, (pool, index) => {
    const name = aksPoolName(pool.name);
    if (taken.has(name) && !written.has(pool.name)) report(["cluster", "nodePools", index, "name"], pool.name, `on Azure, a name that is still unique without '-' and is not "${SYSTEM_POOL_NAME}" (the AKS system pool)`);
    taken.add(name);
    written.add(pool.name);
  });
}
