/**
 * The provider's answer: what a plan says it will do, read from `terraform show -json <plan>` (or
 * Terraform Cloud's JSON plan, the same format). Format: Terraform's "JSON Output Format"
 * (hashicorp/terraform website/docs/internals/json-format.mdx, format_version 1.x): each
 * `resource_changes[]` entry has `change.actions` (["no-op"], ["create"], ["read"], ["update"],
 * ["delete","create"], ["create","delete"], ["delete"], ["forget"]), `action_reason` and
 * `change.replace_paths` (the attributes that forced a replacement); `resource_drift[]` lists
 * what the refresh found changed outside Terraform (a deleted object appears with ["delete"]).
 */
import { statefulResources } from "./stateful";

export interface PlanResourceChange {
  readonly address: string;
  readonly previous_address?: string;
  readonly mode: "managed" | "data";
  readonly type: string;
  readonly change: {
    readonly actions: readonly string[];
    readonly before?: unknown;
    readonly after?: unknown;
    /** Which parts of `after` are known only after the apply (`true` at their path). */
    readonly after_unknown?: unknown;
    readonly replace_paths?: readonly (readonly (string | number)[])[];
  };
  readonly action_reason?: string;
}

export interface PlanJson {
  readonly format_version: string;
  readonly terraform_version?: string;
  readonly resource_changes?: readonly PlanResourceChange[];
  readonly resource_drift?: readonly PlanResourceChange[];
  readonly errored?: boolean;
  readonly complete?: boolean;
}

export type Action = "create" | "update" | "delete" | "replace" | "unknown";
/** Who says so: the provider's plan, a replace-forcing table, the provider block, or an address change. */
export type Basis = "provider" | "table" | "provider-config" | "address";

export interface Change {
  readonly address: string;
  readonly action: Action;
  readonly basis: Basis;
  readonly reason: string;
  /** What a delete or replacement of this resource loses; only for data-holding resources. */
  readonly stateful?: string;
  /** Volumes an in-place update stops rendering (a helm_release's chart no longer creates them): they are deleted. */
  readonly drops?: string;
}

/** `action_reason` values of Terraform 1.11's JSON plan, in words. */
const REASONS: Readonly<Record<string, string>> = {
  replace_because_cannot_update: "the provider cannot update it in place",
  replace_because_tainted: "it is tainted",
  replace_by_request: "-replace was requested",
  replace_by_triggers: "replace_triggered_by",
  delete_because_no_resource_config: "it is no longer in the configuration",
  delete_because_no_module: "its module is no longer in the configuration",
  delete_because_wrong_repetition: "count/for_each changed",
  delete_because_count_index: "its count index is out of range",
  delete_because_each_key: "its for_each key is gone",
  delete_because_no_move_target: "its moved block's target does not exist",
};

const reasonOf = (rc: PlanResourceChange) => (rc.action_reason ? (REASONS[rc.action_reason] ?? rc.action_reason) : "");
const path = (segments: readonly (string | number)[]) => segments.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** The changes a plan announces, one per managed resource instance that is not a no-op. */
export function changesFromPlan(plan: PlanJson): { changes: Change[]; notes: string[] } {
  if (!/^1\./.test(plan.format_version)) throw new Error(`plan JSON format_version ${plan.format_version} is not 1.x`);
  const managed = (plan.resource_changes ?? []).filter((rc) => rc.mode === "managed");
  const values = new Map<string, Record<string, unknown>>();
  for (const rc of managed) {
    const known = isObject(rc.change.before) ? rc.change.before : isObject(rc.change.after) ? rc.change.after : {};
    values.set(rc.address, known);
  }
  const stateful = statefulResources(values);
  const goneOutside = new Set((plan.resource_drift ?? []).filter((rc) => rc.mode === "managed" && rc.change.actions.join() === "delete").map((rc) => rc.address));
  const notes: string[] = [];
  if (plan.errored) notes.push("the plan errored: it may be incomplete");
  if (plan.complete === false) notes.push("the plan is incomplete (deferred changes): another plan follows the apply");
  const changes: Change[] = [];
  for (const rc of managed) {
    const actions = rc.change.actions.join(",");
    const base = { address: rc.address, basis: "provider" as const, stateful: stateful.get(rc.address) };
    if (rc.previous_address && rc.previous_address !== rc.address) notes.push(`${rc.previous_address} moved to ${rc.address}`);
    switch (actions) {
      case "no-op":
      case "read":
        break;
      case "create":
        changes.push(
          goneOutside.has(rc.address)
            ? { ...base, action: "replace", reason: "the refresh did not find it (deleted outside Terraform, or the provider now looks in another region or account): a new, empty one is created" }
            : { ...base, action: "create", reason: "" },
        );
        break;
      case "update":
        changes.push({ ...base, action: "update", reason: "" });
        break;
      case "delete":
        changes.push({ ...base, action: "delete", reason: reasonOf(rc) });
        break;
      case "delete,create":
      case "create,delete": {
        const forced = (rc.change.replace_paths ?? []).map(path);
        const order = actions === "create,delete" ? " (create before destroy)" : "";
        changes.push({ ...base, action: "replace", reason: `${reasonOf(rc)}${forced.length > 0 ? `: ${forced.join(", ")}` : ""}${order}` });
        break;
      }
      case "forget":
        notes.push(`${rc.address} is removed from the state and left in place (not destroyed)`);
        break;
      default:
        changes.push({ ...base, action: "unknown", reason: `unrecognized plan actions [${actions}]` });
    }
  }
  return { changes, notes };
}
