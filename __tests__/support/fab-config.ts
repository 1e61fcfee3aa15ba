/**
 * What Airflow's API server does with a `webserver_config.py`, encoded from the sources at the
 * versions the pinned image runs, so the generated file can be checked without Python:
 * - apache-airflow-providers-fab 3.2.0 (apache/airflow 1b3329eb67 "Prepare providers release
 *   2026-01-27"; the release before Airflow 3.1.7, 2026-02-04), which pins
 *   `flask-appbuilder==5.0.1` (providers/fab/pyproject.toml L74);
 * - Flask-AppBuilder v5.0.1 (dpgaspar/Flask-AppBuilder tag v5.0.1);
 * - Authlib v1.6.0 (lepture/authlib tag v1.6.0; the image's `google-auth` extra asks
 *   `authlib>=1.0.0`, and the names below are the same at v1.0.0).
 */

/**
 * Every Flask config name FAB and the Airflow FAB provider read (`config["X"]`,
 * `config.get("X")`, `config.setdefault("X")`), from providers/fab/src/airflow/providers/fab/
 * auth_manager/security_manager/override.py, auth_manager/fab_auth_manager.py,
 * www/extensions/init_appbuilder.py and flask_appbuilder/security/views.py at those versions;
 * Flask's `from_pyfile` keeps every upper-case name of the file, so any other upper-case name
 * is a setting nothing reads (a typo such as AUTH_ROLE_MAPPING is silently ignored).
 */
export const FAB_CONFIG_NAMES: ReadonlySet<string> = new Set([
  "ADDON_MANAGERS", "APP_ICON", "APP_NAME", "APP_THEME", "AUTH_API_LOGIN_ALLOW_MULTIPLE_PROVIDERS", "AUTH_DB_FAKE_PASSWORD_HASH_CHECK",
  "AUTH_LDAP_ALLOW_SELF_SIGNED", "AUTH_LDAP_APPEND_DOMAIN", "AUTH_LDAP_BIND_PASSWORD", "AUTH_LDAP_BIND_USER", "AUTH_LDAP_EMAIL_FIELD",
  "AUTH_LDAP_FIRSTNAME_FIELD", "AUTH_LDAP_GROUP_FIELD", "AUTH_LDAP_LASTNAME_FIELD", "AUTH_LDAP_SEARCH", "AUTH_LDAP_SEARCH_FILTER",
  "AUTH_LDAP_SERVER", "AUTH_LDAP_TLS_CACERTDIR", "AUTH_LDAP_TLS_CACERTFILE", "AUTH_LDAP_TLS_CERTFILE", "AUTH_LDAP_TLS_DEMAND",
  "AUTH_LDAP_TLS_KEYFILE", "AUTH_LDAP_UID_FIELD", "AUTH_LDAP_USERNAME_FORMAT", "AUTH_LDAP_USE_NESTED_GROUPS_FOR_ROLES", "AUTH_LDAP_USE_TLS",
  "AUTH_RATE_LIMIT", "AUTH_RATE_LIMITED", "AUTH_REMOTE_USER_ENV_VAR", "AUTH_ROLES_MAPPING", "AUTH_ROLES_SYNC_AT_LOGIN", "AUTH_ROLE_ADMIN",
  "AUTH_ROLE_PUBLIC", "AUTH_TYPE", "AUTH_USER_REGISTRATION", "AUTH_USER_REGISTRATION_ROLE", "AUTH_USER_REGISTRATION_ROLE_JMESPATH",
  "FAB_ADD_SECURITY_PERMISSION_VIEW", "FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW", "FAB_ADD_SECURITY_VIEWS", "FAB_ADD_SECURITY_VIEW_MENU_VIEW",
  "FAB_BASE_TEMPLATE", "FAB_CREATE_DB", "FAB_INDEX_VIEW", "FAB_MENU", "FAB_PASSWORD_HASH_METHOD", "FAB_PASSWORD_HASH_SALT_LENGTH", "FAB_ROLES",
  "FAB_ROLES_MAPPING", "FAB_STATIC_FOLDER", "FAB_STATIC_URL_PATH", "LANGUAGES", "LOGOUT_REDIRECT_URL", "OAUTH_PROVIDERS", "RATELIMIT_ENABLED",
  "SECURITY_MANAGER_CLASS",
]);

/**
 * Flask's own config names (pallets/flask 2.2.5 src/flask/app.py L488-518 `default_config`; the
 * provider pins `flask>=2.2.1,<2.3`, providers/fab/pyproject.toml L68): the file may set these too.
 */
export const FLASK_CONFIG_NAMES: ReadonlySet<string> = new Set([
  "ENV", "DEBUG", "TESTING", "PROPAGATE_EXCEPTIONS", "SECRET_KEY", "PERMANENT_SESSION_LIFETIME", "USE_X_SENDFILE", "SERVER_NAME", "APPLICATION_ROOT",
  "SESSION_COOKIE_NAME", "SESSION_COOKIE_DOMAIN", "SESSION_COOKIE_PATH", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_SAMESITE",
  "SESSION_REFRESH_EACH_REQUEST", "MAX_CONTENT_LENGTH", "SEND_FILE_MAX_AGE_DEFAULT", "TRAP_BAD_REQUEST_ERRORS", "TRAP_HTTP_EXCEPTIONS",
  "EXPLAIN_TEMPLATE_LOADING", "PREFERRED_URL_SCHEME", "JSON_AS_ASCII", "JSON_SORT_KEYS", "JSONIFY_PRETTYPRINT_REGULAR", "JSONIFY_MIMETYPE",
  "TEMPLATES_AUTO_RELOAD", "MAX_COOKIE_SIZE",
]);

/**
 * The airflow.cfg options of the sections the sign-in sets, as Airflow declares them (an option
 * outside these is read by nothing): `[fab]` from providers/fab provider.yaml `config.fab.options`
 * at 1b3329eb67, `[api_auth]` from airflow-core config_templates/config.yml at 5f609bdcfa.
 */
export const AIRFLOW_OPTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  fab: new Set([
    "access_denied_message", "auth_backends", "auth_rate_limit", "auth_rate_limited", "cache_ttl", "config_file", "cookie_samesite", "cookie_secure",
    "enable_proxy_fix", "expose_hostname", "navbar_color", "navbar_hover_color", "navbar_text_color", "navbar_text_hover_color", "proxy_fix_x_for",
    "proxy_fix_x_host", "proxy_fix_x_port", "proxy_fix_x_prefix", "proxy_fix_x_proto", "session_backend", "session_lifetime_minutes", "update_fab_perms",
  ]),
  api_auth: new Set([
    "jwt_algorithm", "jwt_audience", "jwt_cli_expiration_time", "jwt_expiration_time", "jwt_issuer", "jwt_kid", "jwt_leeway", "jwt_private_key_path",
    "jwt_secret", "trusted_jwks_url",
  ]),
};

/**
 * The security manager's methods a `SECURITY_MANAGER_CLASS` may override to change the sign-in,
 * each called by name by the code that runs it: `get_oauth_user_info` (bound as `oauth_user_info`
 * in override.py `_init_auth` L877-880), `auth_user_oauth(userinfo, rotate_session_id=True)`
 * (override.py L2034; called by Flask-AppBuilder v5.0.1 security/views.py L713),
 * `before_request` (a static method of www/security_manager.py L53-57, registered by
 * www/extensions/init_appbuilder.py L207 `app.before_request(self.sm.before_request)`); a
 * misspelt method would be a new one nothing calls.
 */
export const FAB_SECURITY_MANAGER_HOOKS: ReadonlySet<string> = new Set(["get_oauth_user_info", "auth_user_oauth", "before_request"]);

/** The methods a Python class defines (`    def name(`, one level in). */
export const classMethods = (source: string, className: string): string[] => {
  const start = source.indexOf(`\nclass ${className}(`);
  if (start < 0) throw new Error(`no class ${className}`);
  const body = source.slice(start + 1).split("\n").slice(1);
  const end = body.findIndex((line) => line !== "" && !line.startsWith(" "));
  return (end < 0 ? body : body.slice(0, end)).flatMap((line) => /^ {4}def ([A-Za-z_]\w*)\(/.exec(line)?.[1] ?? []);
};

/** The roles Airflow's FAB auth manager creates (override.py `ROLE_CONFIGS`): a role named elsewhere does not exist and maps to nothing. */
export const FAB_ROLES: ReadonlySet<string> = new Set(["Public", "Viewer", "User", "Op", "Admin"]);

/**
 * The keys FAB reads from an OAUTH_PROVIDERS entry: `name`, `remote_app`, `whitelist`
 * (override.py `_init_auth`), `token_key`, `token_secret` (`get_oauth_token_key_name`,
 * `get_oauth_token_secret_name`), `icon` (flask_appbuilder templates/appbuilder/general/
 * security/login_oauth.html).
 */
export const FAB_PROVIDER_KEYS: ReadonlySet<string> = new Set(["name", "remote_app", "whitelist", "token_key", "token_secret", "icon"]);

/** `remote_app` goes to Authlib's `OAuth.register(name, **remote_app)`, which keeps these (authlib/integrations/base_client/registry.py `OAUTH_CLIENT_PARAMS`). */
export const AUTHLIB_CLIENT_PARAMS: ReadonlySet<string> = new Set([
  "client_id", "client_secret", "request_token_url", "request_token_params", "access_token_url", "access_token_params",
  "refresh_token_url", "refresh_token_params", "authorize_url", "authorize_params", "api_base_url", "client_kwargs", "server_metadata_url",
]);

/** `client_kwargs` go to the OAuth2 client (authlib/oauth2/client.py `OAuth2Client.__init__`, L53-69 at v1.6.0); `code_challenge_method` turns PKCE on ("only S256 is supported"). */
export const AUTHLIB_CLIENT_KWARGS: ReadonlySet<string> = new Set([
  "client_id", "client_secret", "token_endpoint_auth_method", "revocation_endpoint_auth_method", "scope", "state", "redirect_uri",
  "code_challenge_method", "token", "token_placement", "update_token", "leeway",
]);

/**
 * The callback FAB gives the provider under Airflow 3: the FAB app is mounted at
 * `<path of [api] base_url>auth` (airflow-core api_fastapi/app.py `AUTH_MANAGER_FASTAPI_APP_PREFIX`
 * = `f"{API_ROOT_PATH}auth"`, the base URL given a trailing slash), and AuthOAuthView
 * (`route_base = ""`) exposes `/oauth-authorized/<provider>` (flask_appbuilder/security/views.py).
 */
export function fabCallbackUrl(baseUrl: string, provider: string): string {
  const withSlash = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  const url = new URL(withSlash);
  return `${url.origin}${url.pathname}auth/oauth-authorized/${provider}`;
}

/**
 * Which pods mount each config key of chart 1.19.0 as webserver_config.py (apache/airflow
 * f17d6ffb chart/templates): `apiServer.apiServerConfig` only in api-server-deployment.yaml
 * (`airflow_api_server_config_mount`); `webserver.webserverConfig` in the scheduler, triggerer,
 * DAG processor, Celery worker and Airflow 2 webserver templates (`airflow_webserver_config_mount`),
 * never in the API server, where Airflow 3 runs the FAB app.
 */
export const CONFIG_MOUNTED_IN: Readonly<Record<string, readonly string[]>> = {
  "apiServer.apiServerConfig": ["api-server"],
  "webserver.webserverConfig": ["scheduler", "triggerer", "dag-processor", "worker", "webserver"],
};

/** Python's `str.isupper()`: at least one cased character, none lower-case (Flask's `from_object` keeps only these). */
export const isUpper = (name: string): boolean => /[A-Z]/.test(name) && !/[a-z]/.test(name);

/**
 * The names a Python module binds at its top level: `NAME = ...`, `class NAME`, `def NAME`,
 * `import a.b as NAME`, `from m import NAME[, NAME]` (Python 3 reference, "Simple statements" and
 * "Compound statements"; only the forms a flat config file uses).
 */
export function topLevelNames(source: string): string[] {
  const names: string[] = [];
  for (const line of source.split("\n")) {
    if (/^\s/.test(line)) continue;
    let match: RegExpExecArray | null;
    if ((match = /^([A-Za-z_]\w*)\s*=[^=]/.exec(line))) names.push(match[1]);
    else if ((match = /^(?:class|def)\s+([A-Za-z_]\w*)/.exec(line))) names.push(match[1]);
    else if ((match = /^import\s+[\w.]+\s+as\s+([A-Za-z_]\w*)\s*$/.exec(line))) names.push(match[1]);
    else if ((match = /^import\s+([A-Za-z_]\w*)/.exec(line))) names.push(match[1]);
    else if ((match = /^from\s+[\w.]+\s+import\s+(.+)$/.exec(line))) names.push(...match[1].split(",").map((part) => part.trim().split(/\s+as\s+/).pop() as string));
  }
  return names;
}

/**
 * The value of one Python string literal in double quotes, per the Python 3 reference
 * ("Lexical analysis", escape sequences): `\\`, `\"`, `\'`, `\n`, `\t`, `\uXXXX`, `\UXXXXXXXX`. Throws
 * on anything else, as a literal this reader cannot vouch for.
 */
export function pythonStringValue(literal: string): string {
  if (!/^"(?:[^"\\\n]|\\.)*"$/.test(literal)) throw new Error(`not one double-quoted Python string: ${literal}`);
  return literal.slice(1, -1).replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, escape: string) => {
    if (escape.startsWith("u") || escape.startsWith("U")) return String.fromCodePoint(parseInt(escape.slice(1), 16));
    const simple: Record<string, string> = { "\\": "\\", '"': '"', "'": "'", n: "\n", t: "\t" };
    if (simple[escape] === undefined) throw new Error(`an escape this reader does not know: \\${escape}`);
    return simple[escape];
  });
}

/** The double-quoted string literals of a line of Python, outside comments. */
export function stringLiterals(line: string): string[] {
  return [...line.replace(/#.*$/, "").matchAll(/"(?:[^"\\\n]|\\.)*"/g)].map((match) => match[0]);
}

/**
 * Problems of Python 3 syntax a reader can see without Python, line by line: tabs, indentation
 * not in steps of four, non-ASCII characters, brackets that do not balance (outside strings).
 */
export function pythonShapeProblems(source: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  source.split("\n").forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.includes("\t")) problems.push(`${where}: a tab`);
    if (/[^\t\x20-\x7e]/.test(line)) problems.push(`${where}: a character outside printable ASCII`);
    const indent = /^ */.exec(line)?.[0].length ?? 0;
    if (line.trim() !== "" && indent % 4 !== 0) problems.push(`${where}: indented by ${indent}`);
    const code = line.replace(/"""[^]*?"""/g, "").replace(/"(?:[^"\\\n]|\\.)*"/g, '""').replace(/#.*$/, "");
    if (/"""/.test(code) || (code.match(/"/g) ?? []).length % 2 !== 0) problems.push(`${where}: an unterminated string`);
    for (const char of code) {
      if ("([{".includes(char)) stack.push(char);
      if (")]}".includes(char) && stack.pop() !== pairs[char]) problems.push(`${where}: ${char} closes nothing open`);
    }
  });
  if (stack.length > 0) problems.push(`end: ${stack.join("")} left open`);
  return problems;
}
