/**
 * The rules an AlertmanagerConfig used as Alertmanager's top-level configuration must meet beyond
 * its CRD schema (which `objectProblems` checks), encoded from the consumers' source:
 * - prometheus-operator v0.93.0 (= release-0.93; its AlertmanagerConfig CRD is identical to the
 *   v0.93.1 one kube-prometheus-stack 88.5.3 ships):
 *   [V] pkg/alertmanager/validation/v1alpha1/validation.go `ValidateAlertmanagerConfig`,
 *   [M] pkg/apis/monitoring/v1alpha1/alertmanager_config_types.go `Matcher.Validate`,
 *   [A] pkg/alertmanager/amcfg.go `checkAlertmanagerConfigRootRoute`, `convertEmailConfig`,
 *   [O] pkg/alertmanager/operator.go `checkReceivers` (`checkSlackConfigs`, `checkEmailConfigs`,
 *       `checkWebhookConfigs`: each referenced Secret key must exist, or the whole configuration
 *       is refused and Alertmanager keeps none);
 * - [AM] prometheus/alertmanager config/config.go `Route.UnmarshalYAML` (group_interval and
 *   repeat_interval cannot be zero; read on the main branch, the rule is old and unchanged).
 */
type Json = Record<string, unknown>;

const MATCH_TYPES = ["=", "!=", "=~", "!~"];

const asList = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);
const str = (value: unknown): string => (typeof value === "string" ? value : "");

/** Go's time.ParseDuration-like check of a Prometheus duration: is it zero? */
function isZeroDuration(value: string): boolean {
  return value === "0" || /^(0+(y|w|d|h|m|s|ms))+$/.test(value);
}

/** Go's net.SplitHostPort for `host:port` (no brackets needed without IPv6). */
function splitsHostPort(value: string): boolean {
  if (value.startsWith("[")) return /^\[[^\]]+\]:[^:]*$/.test(value);
  return (value.match(/:/g) ?? []).length === 1;
}

/**
 * Problems of an AlertmanagerConfig used as the top-level configuration. `secrets` are the keys
 * of the Secrets its namespace will hold (name -> keys), from the ExternalSecrets rendered with it.
 */
export function alertmanagerConfigProblems(config: Json, secrets: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const problems: string[] = [];
  const spec = (config.spec ?? {}) as Json;
  const receivers = asList(spec.receivers);
  const names = new Set<string>();
  for (const receiver of receivers) {
    const name = str(receiver.name);
    // [V] validateReceivers: "%q receiver is not unique".
    if (names.has(name)) problems.push(`receiver ${name} is not unique`);
    names.add(name);
    const secretRef = (field: string, ref: unknown) => {
      const selector = ref as Json | undefined;
      if (selector === undefined) return;
      // [O] store.GetSecretKey: the Secret and its key must exist in the config's namespace.
      if (!secrets.get(str(selector.name))?.has(str(selector.key))) problems.push(`receiver ${name}: ${field} reads Secret ${str(selector.name)} key ${str(selector.key)}, which nothing in the namespace provides`);
    };
    for (const slack of asList(receiver.slackConfigs)) {
      // Without a global slack_api_url (none is set), each Slack config needs its own API URL.
      if (slack.apiURL === undefined) problems.push(`receiver ${name}: a Slack config without apiURL (there is no global slack_api_url)`);
      secretRef("apiURL", slack.apiURL);
      if (slack.apiURL !== undefined && typeof slack.apiURL === "string") problems.push(`receiver ${name}: apiURL must be a Secret reference, not a literal`);
    }
    for (const email of asList(receiver.emailConfigs)) {
      // [V] validateEmailConfig: "missing 'to' address"; smarthost must split as host:port.
      if (str(email.to) === "") problems.push(`receiver ${name}: missing 'to' address`);
      if (str(email.smarthost) !== "" && !splitsHostPort(str(email.smarthost))) problems.push(`receiver ${name}: invalid 'smarthost' ${str(email.smarthost)}`);
      // [A] convertEmailConfig: smarthost and from are mandatory without a global SMTP configuration.
      if (str(email.smarthost) === "") problems.push(`receiver ${name}: SMTP smarthost is a mandatory field`);
      if (str(email.from) === "") problems.push(`receiver ${name}: SMTP from is a mandatory field`);
      secretRef("authPassword", email.authPassword);
      // The platform's own rule: a password is only ever sent over TLS.
      if (email.authPassword !== undefined && email.requireTLS !== true) problems.push(`receiver ${name}: sends an SMTP password without requireTLS`);
    }
    for (const webhook of asList(receiver.webhookConfigs)) {
      // [V] validateWebhookConfigs: "one of 'url' or 'urlSecret' must be specified".
      if (webhook.url === undefined && webhook.urlSecret === undefined) problems.push(`receiver ${name}: one of 'url' or 'urlSecret' must be specified`);
      secretRef("urlSecret", webhook.urlSecret);
    }
  }

  const checkRoute = (route: Json, path: string, root: boolean) => {
    const receiver = str(route.receiver);
    // [V] validateRoute: the root route must define a receiver; every named receiver must exist.
    if (receiver === "" && root) problems.push(`${path}: root route must define a receiver`);
    if (receiver !== "" && !names.has(receiver)) problems.push(`${path}: receiver ${receiver} not found`);
    const groupBy = asList(route.groupBy) as unknown as string[];
    // [V] duplicate values not permitted in groupBy; '...' must be the sole value.
    if (new Set(groupBy).size !== groupBy.length) problems.push(`${path}: duplicate values in groupBy`);
    if (groupBy.includes("...") && groupBy.length > 1) problems.push(`${path}: '...' must be a sole value in groupBy`);
    for (const [index, matcher] of asList(route.matchers).entries()) {
      // [M] Matcher.Validate: a known matchType and a name.
      if (matcher.matchType !== undefined && !MATCH_TYPES.includes(str(matcher.matchType))) problems.push(`${path}: matcher[${index}] has invalid matchType ${str(matcher.matchType)}`);
      if (str(matcher.name).trim() === "") problems.push(`${path}: matcher[${index}] has no name`);
    }
    // [AM] group_interval and repeat_interval cannot be zero.
    for (const field of ["groupInterval", "repeatInterval"]) {
      if (typeof route[field] === "string" && isZeroDuration(route[field] as string)) problems.push(`${path}: ${field} cannot be zero`);
    }
    if (root) {
      // [A] checkAlertmanagerConfigRootRoute: no continue and no matchers on the root route.
      if (route.continue === true) problems.push(`${path}: cannot have continue in root route`);
      if (asList(route.matchers).length > 0) problems.push(`${path}: 'matchers' not permitted on root route`);
    }
    for (const [index, child] of asList(route.routes).entries()) checkRoute(child, `${path}.routes[${index}]`, false);
  };
  if (spec.route === undefined) problems.push("route: root route must exist");
  else checkRoute(spec.route as Json, "route", true);
  return problems;
}

/** The Secret keys the ExternalSecrets of a namespace create: name -> keys (template data, else data). */
export function externalSecretKeys(objects: readonly Json[], namespace: string): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const object of objects) {
    const metadata = (object.metadata ?? {}) as Json;
    if (object.kind !== "ExternalSecret" || metadata.namespace !== namespace) continue;
    const spec = (object.spec ?? {}) as Json;
    const target = (spec.target ?? {}) as Json;
    const template = (target.template ?? {}) as Json;
    const fromTemplate = Object.keys((template.data ?? {}) as Json);
    const fromData = asList(spec.data).map((entry) => str(entry.secretKey));
    keys.set(str(target.name) || str(metadata.name), new Set(fromTemplate.length > 0 ? fromTemplate : fromData));
  }
  return keys;
}
