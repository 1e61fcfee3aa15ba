import { asList, at, expectValue, resourcesOf, type Block, type Rule } from "../types";

const isReplica = (db: Block) => db.replicate_source_db !== undefined || db.master_instance_name !== undefined || db.create_mode === "Replica";
const ZONE = /^[a-z]+-[a-z]+\d-[a-z]$/;

/** What keeps working when a zone or a disk fills up. */
export const RELIABILITY: readonly Rule[] = [
  {
    id: "database-ha",
    pack: "reliability",
    title: "Production databases survive the loss of a zone",
    productionOnly: true,
    fix: "keep databases[].highAvailability on in production, or waive it in databases[].waivers.highAvailability with a reason",
    waiver: { of: "databases", name: "highAvailability" },
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_db_instance"], check: (db) => (isReplica(db) ? [] : expectValue(db, "multi_az", true)) },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_postgresql_flexible_server"],
        check: (db) => (isReplica(db) ? [] : [...expectValue(db, "high_availability.mode", "ZoneRedundant"), ...expectValue(db, "geo_redundant_backup_enabled", true)]),
      },
      { cloud: "gcp", kind: "infra", types: ["google_sql_database_instance"], check: (db) => (isReplica(db) ? [] : expectValue(db, "settings.availability_type", "REGIONAL")) },
    ],
  },
  {
    id: "database-storage-autoscaling",
    pack: "reliability",
    title: "Database storage grows before it fills",
    fix: "enable storage autoscaling (max_allocated_storage above allocated_storage, auto_grow_enabled, disk_autoresize)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_instance"],
        check: (db) => (isReplica(db) || Number(db.max_allocated_storage ?? 0) > Number(db.allocated_storage ?? 0) ? [] : ["max_allocated_storage is not above allocated_storage"]),
      },
      { cloud: "azure", kind: "infra", types: ["azurerm_postgresql_flexible_server"], check: (db) => expectValue(db, "auto_grow_enabled", true) },
      { cloud: "gcp", kind: "infra", types: ["google_sql_database_instance"], check: (db) => expectValue(db, "settings.disk_autoresize", true) },
    ],
  },
  {
    id: "nodes-zone-spread",
    pack: "reliability",
    title: "Node pools span at least two zones",
    fix: "spread every node pool over network.zones zones (2 or more)",
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_eks_node_group"], check: (group) => (asList(group.subnet_ids).length >= 2 ? [] : ["subnet_ids name fewer than 2 subnets (zones)"]) },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_kubernetes_cluster", "azurerm_kubernetes_cluster_node_pool"],
        check: (pool) => {
          const zones = pool.default_node_pool === undefined ? pool.zones : at(pool, "default_node_pool.zones");
          return asList(zones).length >= 2 ? [] : ["zones name fewer than 2 zones"];
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_container_cluster"],
        check: (cluster) => {
          if (!ZONE.test(String(cluster.location))) return [];
          const zones = new Set([String(cluster.location), ...asList(cluster.node_locations).map(String)]);
          return zones.size >= 2 ? [] : ["a zonal cluster without node_locations in another zone"];
        },
      },
    ],
  },
  {
    id: "control-plane-ha",
    pack: "reliability",
    title: "Production Kubernetes control planes are zone-redundant with an SLA",
    productionOnly: true,
    fix: "use a regional GKE cluster and AKS's Standard tier in production (EKS control planes are always multi-zone)",
    elsewhere: {
      aws: "EKS control planes always run over three zones",
    },
    checks: [
      { cloud: "azure", kind: "infra", types: ["azurerm_kubernetes_cluster"], check: (cluster) => expectValue(cluster, "sku_tier", "Standard") },
      { cloud: "gcp", kind: "infra", types: ["google_container_cluster"], check: (cluster) => (ZONE.test(String(cluster.location)) ? [`location ${String(cluster.location)} is a zone`] : []) },
    ],
  },
  {
    id: "nat-per-zone",
    pack: "reliability",
    title: "Production egress survives the loss of a zone",
    productionOnly: true,
    fix: "one NAT gateway per zone (AWS), zonal NAT gateways per zone (Azure); Cloud NAT is regional",
    elsewhere: {
      gcp: "Cloud NAT is regional: no zone to lose",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_vpc"],
        check: (_vpc, ctx) => {
          const zones = ctx.env?.network.zones ?? 2;
          const gateways = resourcesOf(ctx.stack, "aws_nat_gateway").length;
          return gateways >= zones ? [] : [`${gateways} NAT gateway(s) for ${zones} zones`];
        },
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_virtual_network"],
        check: (_vnet, ctx) => {
          const zones = ctx.env?.network.zones ?? 2;
          const zonal = resourcesOf(ctx.stack, "azurerm_nat_gateway").filter(([, nat]) => asList(nat.zones).length === 1);
          return new Set(zonal.map(([, nat]) => String(asList(nat.zones)[0]))).size >= zones ? [] : [`${zonal.length} zonal NAT gateway(s) for ${zones} zones`];
        },
        // README, Azure NAT row: the zone-redundant StandardV2 NAT cannot be declared with azurerm 4.55.0, and per-zone NATs need per-zone subnets, which replace the AKS cluster.
        pending: "azurerm 4.55.0 accepts only the Standard (zonal) NAT gateway SKU, not the zone-redundant StandardV2 (nat_gateway_resource.go), and one NAT per zone needs per-zone node subnets, which replaces the AKS cluster; a single NAT gateway until the provider takes StandardV2 (README, Azure NAT row)",
      },
    ],
  },
  {
    id: "storage-zone-redundant",
    pack: "reliability",
    title: "Object storage survives the loss of a zone (a region in production)",
    fix: "ZRS storage (GZRS in production) on Azure; dual- or multi-region GCS buckets in production, or keep an existing bucket's region with buckets[].waivers.geoRedundant and a reason",
    // A bucket created in its region stays there: GCS cannot move a bucket (a new location replaces it).
    waiver: { of: "buckets", name: "geoRedundant" },
    // S3 stores every object over at least three zones of its region.
    elsewhere: {
      aws: "S3 stores every object over at least three zones of its region",
    },
    checks: [
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_storage_account"],
        check: (account, ctx) => {
          const accepted = ctx.env?.production ? ["GZRS", "RAGZRS"] : ["ZRS", "GZRS", "RAGZRS"];
          return accepted.includes(String(account.account_replication_type)) ? [] : [`account_replication_type is ${String(account.account_replication_type)}, needs ${accepted.join(" or ")}`];
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_storage_bucket"],
        // Regions are `<area>-<direction><n>` (europe-west1); multi-regions (EU, US, ASIA) and dual-regions (EUR4, NAM4, ...) are not.
        check: (bucket, ctx) => (!ctx.env?.production || !/^[a-z]+-[a-z]+\d+$/.test(String(bucket.location).toLowerCase()) ? [] : [`location ${String(bucket.location)} is a single region`]),
      },
    ],
  },
  {
    id: "helm-release-recoverable",
    pack: "reliability",
    title: "Helm releases wait for readiness and clean up a failed upgrade",
    fix: "leave wait on and set cleanup_on_fail = true",
    checks: [{ cloud: "any", kind: "apps", types: ["helm_release"], check: (release) => [...(release.wait === false ? ["wait is false"] : []), ...expectValue(release, "cleanup_on_fail", true)] }],
  },
];
