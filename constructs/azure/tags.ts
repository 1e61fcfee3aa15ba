import type { IConstruct } from "constructs";
import { type IAspect, TerraformResource } from "cdktf";

type Tags = Record<string, string>;

/** What every generated azurerm resource class with a `tags` argument has. */
interface TaggableResource {
  tags: Tags;
  readonly tagsInput?: Tags;
}

/** True when the resource's schema has a top-level `tags` argument. */
export function isTaggable(node: IConstruct): node is TerraformResource & TaggableResource {
  return node instanceof TerraformResource && "tags" in node && "tagsInput" in node;
}

/**
 * Puts the environment's tags on every taggable resource below the scope it is added to.
 * azurerm has no provider-level default tags (unlike aws `default_tags`), so one Aspect applies
 * them once instead of each construct repeating them. A resource's own tags win on a key clash
 * (the spec forbids overriding the reserved keys, so only extra tags can clash).
 */
export class AzureEnvironmentTags implements IAspect {
  /**
   * `platformOnly`: the tags for resource types that allow only a few, where the spec's extra
   * tags would not fit (Key Vault secrets take at most 15 tags, azurerm 4.55.0).
   */
  constructor(
    private readonly tags: Readonly<Tags>,
    private readonly platformOnly: Readonly<Tags>,
  ) {}

  visit(node: IConstruct): void {
    if (!isTaggable(node)) return;
    const tags = node.terraformResourceType === "azurerm_key_vault_secret" ? this.platformOnly : this.tags;
    node.tags = { ...tags, ...(node.tagsInput ?? {}) };
  }
}
