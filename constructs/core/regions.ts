/**
 * Where each cloud can put an environment: its regions and their availability zones, so a spec
 * naming `eu-wset-1`, or three zones in a two-zone region, fails at synth with a field error
 * instead of at apply. Plans stay offline: zone names are computed here, never read with a data
 * source. Update these tables when a cloud opens a region (the sources say where to look).
 */

/**
 * AWS commercial regions (partition `aws`) the pinned AWS provider accepts, with the zone letters
 * an account sees. Regions: botocore 1.42.19 `botocore/data/endpoints.json`, less `ap-southeast-6`,
 * which provider 5.100.0 refuses ("invalid AWS Region": it validates against the list
 * aws-sdk-go-base compiles in, `validation/region.go` `SupportedRegion`). __tests__/regions.test.ts
 * configures the pinned provider in every region listed here. Letters: docs.aws.amazon.com/global-infrastructure/latest/regions/
 * aws-availability-zones.html (ca-central-1 has no `c`; ap-northeast-1 no `b` for new accounts).
 * GovCloud and China are separate partitions with their own ARNs, which the stacks do not build.
 */
export const AWS_ZONE_LETTERS: Readonly<Record<string, readonly string[]>> = {
  "us-east-1": ["a", "b", "c", "d", "f"], // use1-az3 ("e" in many accounts) is constrained: left out
  "us-east-2": ["a", "b", "c"],
  "us-west-1": [], // newer accounts see two of a, b, c, which two depends on the account
  "us-west-2": ["a", "b", "c", "d"],
  "ca-central-1": ["a", "b", "d"],
  "sa-east-1": ["a", "b", "c"],
  "eu-west-1": ["a", "b", "c"],
  "eu-west-2": ["a", "b", "c"],
  "eu-west-3": ["a", "b", "c"],
  "eu-central-1": ["a", "b", "c"],
  "eu-north-1": ["a", "b", "c"],
  "ap-south-1": ["a", "b", "c"],
  "ap-northeast-1": ["a", "c", "d"],
  "ap-northeast-2": ["a", "b", "c", "d"],
  "ap-northeast-3": ["a", "b", "c"],
  "ap-southeast-1": ["a", "b", "c"],
  "ap-southeast-2": ["a", "b", "c"],
  // Opt-in regions: enable them in the account first (AWS Account Management, "Enable a Region").
  "af-south-1": ["a", "b", "c"],
  "ap-east-1": ["a", "b", "c"],
  "ap-east-2": ["a", "b", "c"],
  "ap-south-2": ["a", "b", "c"],
  "ap-southeast-3": ["a", "b", "c"],
  "ap-southeast-4": ["a", "b", "c"],
  "ap-southeast-5": ["a", "b", "c"],
  "ap-southeast-7": ["a", "b", "c"],
  "ca-west-1": ["a", "b", "c"],
  "eu-central-2": ["a", "b", "c"],
  "eu-south-1": ["a", "b", "c"],
  "eu-south-2": ["a", "b", "c"],
  "il-central-1": ["a", "b", "c"],
  "me-central-1": ["a", "b", "c"],
  "me-south-1": ["a", "b", "c"],
  "mx-central-1": ["a", "b", "c"],
};

/**
 * Azure locations (public cloud) and whether they have availability zones (3) or not (0), from
 * learn.microsoft.com/azure/reliability/regions-list (MicrosoftDocs/reliability-docs
 * `articles/reliability/regions-list.md` at 68aee9dd, 2025-12-08). The environment spreads its
 * nodes and subnets over zones, so a location without zones cannot hold one.
 */
export const AZURE_LOCATION_ZONES: Readonly<Record<string, number>> = {
  brazilsouth: 3, brazilsoutheast: 0, canadacentral: 3, canadaeast: 0, centralus: 3, chilecentral: 3, eastus: 3, eastus2: 3,
  mexicocentral: 3, northcentralus: 0, southcentralus: 3, westcentralus: 0, westus: 0, westus2: 3, westus3: 3,
  austriaeast: 3, belgiumcentral: 3, denmarkeast: 3, francecentral: 3, francesouth: 0, germanynorth: 0, germanywestcentral: 3,
  italynorth: 3, northeurope: 3, norwayeast: 3, norwaywest: 0, polandcentral: 3, spaincentral: 3, swedencentral: 3,
  switzerlandnorth: 3, switzerlandwest: 0, uksouth: 3, ukwest: 0, westeurope: 3,
  israelcentral: 3, qatarcentral: 3, uaecentral: 0, uaenorth: 3, southafricanorth: 3, southafricawest: 0,
  australiacentral: 0, australiacentral2: 0, australiaeast: 3, australiasoutheast: 0, centralindia: 3, eastasia: 3,
  indonesiacentral: 3, japaneast: 3, japanwest: 3, koreacentral: 3, koreasouth: 0, malaysiawest: 3, newzealandnorth: 3,
  southeastasia: 3, southindia: 0, westindia: 0,
};

/**
 * Each Azure location's paired region, where Azure keeps the geo-redundant copy of a PostgreSQL
 * server's backups (and GRS/GZRS storage's second copy), for the locations `AZURE_LOCATION_ZONES`
 * accepts; `undefined` for a location without a pair. `restricted`: the pair is a region whose
 * access Microsoft restricts (a subscription must be enabled for it before anything can be
 * created there). From learn.microsoft.com/azure/reliability/regions-paired (MicrosoftDocs/
 * reliability-docs `articles/reliability/includes/paired-regions-include.md` and
 * `nonpaired-regions-include.md` at c7803c50, 2026-07-28).
 */
export const AZURE_PAIRED_LOCATIONS: Readonly<Record<string, { readonly location: string; readonly restricted: boolean } | undefined>> = {
  brazilsouth: { location: "southcentralus", restricted: false }, brazilsoutheast: { location: "brazilsouth", restricted: false },
  canadacentral: { location: "canadaeast", restricted: false }, canadaeast: { location: "canadacentral", restricted: false },
  centralus: { location: "eastus2", restricted: false }, chilecentral: undefined, eastus: { location: "westus", restricted: false },
  eastus2: { location: "centralus", restricted: false }, mexicocentral: undefined, northcentralus: { location: "southcentralus", restricted: false },
  southcentralus: { location: "northcentralus", restricted: false }, westcentralus: { location: "westus2", restricted: false },
  westus: { location: "eastus", restricted: false }, westus2: { location: "westcentralus", restricted: false }, westus3: { location: "eastus", restricted: false },
  austriaeast: undefined, belgiumcentral: undefined, denmarkeast: undefined, francecentral: { location: "francesouth", restricted: true },
  francesouth: { location: "francecentral", restricted: false }, germanynorth: { location: "germanywestcentral", restricted: false },
  germanywestcentral: { location: "germanynorth", restricted: true }, italynorth: undefined, northeurope: { location: "westeurope", restricted: false },
  norwayeast: { location: "norwaywest", restricted: true }, norwaywest: { location: "norwayeast", restricted: false }, polandcentral: undefined,
  spaincentral: undefined, swedencentral: { location: "swedensouth", restricted: true }, switzerlandnorth: { location: "switzerlandwest", restricted: true },
  switzerlandwest: { location: "switzerlandnorth", restricted: false }, uksouth: { location: "ukwest", restricted: false }, ukwest: { location: "uksouth", restricted: false },
  westeurope: { location: "northeurope", restricted: false }, israelcentral: undefined, qatarcentral: undefined,
  uaecentral: { location: "uaenorth", restricted: false }, uaenorth: { location: "uaecentral", restricted: true },
  southafricanorth: { location: "southafricawest", restricted: true }, southafricawest: { location: "southafricanorth", restricted: false },
  australiacentral: { location: "australiacentral2", restricted: true }, australiacentral2: { location: "australiacentral", restricted: false },
  australiaeast: { location: "australiasoutheast", restricted: false }, australiasoutheast: { location: "australiaeast", restricted: false },
  centralindia: { location: "southindia", restricted: false }, eastasia: { location: "southeastasia", restricted: false }, indonesiacentral: undefined,
  japaneast: { location: "japanwest", restricted: false }, japanwest: { location: "japaneast", restricted: false },
  koreacentral: { location: "koreasouth", restricted: false }, koreasouth: { location: "koreacentral", restricted: false }, malaysiawest: undefined,
  newzealandnorth: undefined, southeastasia: { location: "eastasia", restricted: false }, southindia: { location: "centralindia", restricted: false },
  westindia: { location: "southindia", restricted: false },
};

/**
 * GCP regions and their zone letters, the same in every project: cloud.google.com/compute/docs/
 * regions-zones ("Available regions and zones"), cross-checked with GoogleCloudPlatform/gcping
 * `tools/terraform/regions.json` at 85ed7a9 (2026-01-29, asia-southeast3 added).
 */
export const GCP_ZONE_LETTERS: Readonly<Record<string, readonly string[]>> = {
  "us-central1": ["a", "b", "c", "f"], "us-east1": ["b", "c", "d"], "us-east4": ["a", "b", "c"], "us-east5": ["a", "b", "c"],
  "us-south1": ["a", "b", "c"], "us-west1": ["a", "b", "c"], "us-west2": ["a", "b", "c"], "us-west3": ["a", "b", "c"],
  "us-west4": ["a", "b", "c"], "northamerica-northeast1": ["a", "b", "c"], "northamerica-northeast2": ["a", "b", "c"],
  "northamerica-south1": ["a", "b", "c"], "southamerica-east1": ["a", "b", "c"], "southamerica-west1": ["a", "b", "c"],
  "europe-central2": ["a", "b", "c"], "europe-north1": ["a", "b", "c"], "europe-north2": ["a", "b", "c"],
  "europe-southwest1": ["a", "b", "c"], "europe-west1": ["b", "c", "d"], "europe-west2": ["a", "b", "c"],
  "europe-west3": ["a", "b", "c"], "europe-west4": ["a", "b", "c"], "europe-west6": ["a", "b", "c"],
  "europe-west8": ["a", "b", "c"], "europe-west9": ["a", "b", "c"], "europe-west10": ["a", "b", "c"],
  "europe-west12": ["a", "b", "c"], "me-central1": ["a", "b", "c"], "me-central2": ["a", "b", "c"], "me-west1": ["a", "b", "c"],
  "africa-south1": ["a", "b", "c"], "asia-east1": ["a", "b", "c"], "asia-east2": ["a", "b", "c"],
  "asia-northeast1": ["a", "b", "c"], "asia-northeast2": ["a", "b", "c"], "asia-northeast3": ["a", "b", "c"],
  "asia-south1": ["a", "b", "c"], "asia-south2": ["a", "b", "c"], "asia-southeast1": ["a", "b", "c"],
  "asia-southeast2": ["a", "b", "c"], "asia-southeast3": ["a", "b", "c"], "australia-southeast1": ["a", "b", "c"], "australia-southeast2": ["a", "b", "c"],
};

/**
 * The zone names of an AWS environment, the first `zones` of them (all by default): the account's
 * own list where given, else the region's letters.
 */
export function awsZoneNames(region: string, availabilityZones?: readonly string[], zones = Number.POSITIVE_INFINITY): string[] {
  const names = availabilityZones ?? (AWS_ZONE_LETTERS[region] ?? []).map((letter) => `${region}${letter}`);
  return names.slice(0, zones);
}

/** The zone names of a GCP region, the first `zones` of them (all by default). */
export function gcpZoneNames(region: string, zones = Number.POSITIVE_INFINITY): string[] {
  return (GCP_ZONE_LETTERS[region] ?? []).slice(0, zones).map((letter) => `${region}-${letter}`);
}
