/**
 * Airflow signs users in through the SSO provider itself (`sso` in the spec; README, "Single
 * sign-on"): the FAB auth manager's OAuth, configured by a generated `webserver_config.py`.
 *
 * Why the pinned image can: chart 1.19.0 deploys `apache/airflow:3.1.7` (values.yaml
 * `defaultAirflowTag`), built with the Dockerfile's default extras, which include `google-auth`
 * (apache/airflow 5f609bdcfa "Airflow 3.1.7 has been released", Dockerfile L39 `ARG
 * AIRFLOW_EXTRAS=...fab,...google-auth,...`, L49 `AIRFLOW_VERSION="3.1.7"`, L52 default Python
 * 3.12.12); that extra is `apache-airflow-providers-fab>=2.2.0; python_version != "3.13"` and
 * `authlib>=1.0.0` (pyproject.toml L515-518 at the same commit). So the image carries Authlib,
 * which FAB's AUTH_OAUTH needs (FabAirflowSecurityManagerOverride._init_auth imports
 * `authlib.integrations.flask_client`).
 *
 * Where the file goes: in Airflow 3 the FAB app runs inside the API server, mounted at `/auth`
 * (airflow-core api_fastapi/app.py `AUTH_MANAGER_FASTAPI_APP_PREFIX`; providers/fab
 * fab_auth_manager.py `get_fastapi_app` mounts the Flask app), and reads `[fab] config_file`,
 * default `{AIRFLOW_HOME}/webserver_config.py` (providers/fab www/app.py `from_pyfile`). Chart
 * 1.19.0 writes `apiServer.apiServerConfig` there in the API server pods alone
 * (templates/configmaps/api-server-configmap.yaml, `airflow_api_server_config_mount` in
 * _helpers.yaml), through `tpl`: the text must hold no `{{`.
 *
 * How a sign-in goes (Flask-AppBuilder 5.0.1, the version apache-airflow-providers-fab pins,
 * flask_appbuilder/security/views.py AuthOAuthView): `/auth/login/sso` redirects to the provider
 * (Authlib, with PKCE S256 and a nonce, since the scope has `openid`); the provider returns to
 * `/auth/oauth-authorized/sso`, where Authlib exchanges the code and validates the ID token
 * against the discovery document's keys, issuer, the client id and the nonce, putting its claims
 * in `token["userinfo"]` (authlib v1.6.0 integrations/flask_client/apps.py
 * `authorize_access_token`); FAB then calls `get_oauth_user_info(provider, token)`, and
 * `auth_user_oauth` registers the user and, at every login (AUTH_ROLES_SYNC_AT_LOGIN), sets its
 * roles from `role_keys` through AUTH_ROLES_MAPPING plus AUTH_USER_REGISTRATION_ROLE
 * (providers/fab security_manager/override.py `_oauth_calculate_user_roles`, at 1b3329eb67, the
 * providers/fab 3.2.0 release). The URL FAB gives the provider comes from the request: the chart's
 * `[fab] enable_proxy_fix = True` (values.yaml `config.fab`) lets Werkzeug's ProxyFix take the
 * scheme and host from Traefik's X-Forwarded-* headers.
 */
import { createHash } from "node:crypto";
import type { AppSso, SsoSettings } from "./types";

/** The provider's name in OAUTH_PROVIDERS: the last segment of the callback path. */
export const AIRFLOW_SSO_PROVIDER = "sso";

/**
 * The callback path FAB gives the provider: AuthOAuthView (`route_base = ""`) exposes
 * `/oauth-authorized/<provider>`, under the `/auth` mount of the FAB app.
 */
export const AIRFLOW_SSO_CALLBACK_PATH = `/auth/oauth-authorized/${AIRFLOW_SSO_PROVIDER}`;

/** Where the API server finds the client secret: a file from the synced Secret, never an environment variable or a value. */
export const AIRFLOW_SSO_SECRET_DIR = "/etc/sso";

/**
 * The FAB role of each kind of user (Airflow's default roles: override.py `ROLE_CONFIGS`):
 * - the admin group: `Admin`;
 * - the allowed groups' members: `User`, who may run the DAGs (trigger, clear, pause, mark
 *   runs and task instances) and read everything a Viewer reads, but neither read nor change
 *   connections, variables, pools or the configuration (`Op`) nor users and roles (`Admin`):
 *   operating pipelines is the data team's work, the credentials in connections are not;
 * - anyone else admitted: `Public`, which holds no permission (`{"role": "Public", "perms": []}`);
 *   with `allowedGroups` the sign-in also refuses anyone outside them and the admin group. With
 *   only `allowedDomains`, everyone the domains admit is an allowed user, so `User`.
 */
export const AIRFLOW_SSO_ROLES = { admin: "Admin", member: "User", nobody: "Public" } as const;

/**
 * How long a sign-in lasts, counted from the provider round trip, not from the last request:
 * roles follow the groups only at a sign-in (`AUTH_ROLES_SYNC_AT_LOGIN` acts in
 * `auth_user_oauth`, providers/fab override.py L2065-2067 at 1b3329eb67), and a user removed at
 * the provider is refused only then. FAB's own limit slides: `[fab] session_lifetime_minutes`
 * (default 43200, "logged out from UI after ... of non-activity", providers/fab provider.yaml)
 * becomes PERMANENT_SESSION_LIFETIME (www/app.py L61), and FAB's login view mints a new JWT for
 * any session still alive without asking the provider (Flask-AppBuilder v5.0.1
 * security/views.py AuthOAuthView.login). So the generated config ends a session this long
 * after its sign-in (`before_request`), and a removed user keeps access at most this plus
 * {@link AIRFLOW_SSO_JWT_SECONDS}: 5 hours, against the oauth2-proxy apps' hourly re-check.
 */
export const AIRFLOW_SSO_SESSION_MINUTES = 240;

/**
 * `[api_auth] jwt_expiration_time` (airflow-core config.yml L1780-1792 at 5f609bdcfa, default
 * 86400): the life of the JWT behind the UI and `/api/v2`, which cannot be revoked. Task pods'
 * Execution API tokens use `[execution_api] jwt_expiration_time` instead (base_executor.py L167).
 */
export const AIRFLOW_SSO_JWT_SECONDS = 3600;

/** The pod annotation of the API server carrying the generated config's hash (see {@link airflowSsoValues}). */
export const AIRFLOW_SSO_CONFIG_CHECKSUM = "checksum/sso-config";

/**
 * A Python string literal holding `text` exactly, with every character outside a plain set
 * written as a `\u`/`\U` escape: valid Python 3 whatever the input, and free of what a consumer
 * on the way would read (Helm's `tpl` `{{`, Terraform's `${` and `%{`, quotes, newlines).
 */
export function pythonString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (/^[A-Za-z0-9 ._@:/+-]$/.test(char)) out += char;
    else if (code > 0xffff) out += `\\U${code.toString(16).padStart(8, "0")}`;
    else out += `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

const pythonList = (items: readonly string[]): string => `[${items.map(pythonString).join(", ")}]`;

/** `AUTH_ROLES_MAPPING`: each allowed group to User, the admin group to Admin (Admin wins where a group is both). */
function rolesMapping(settings: SsoSettings): Map<string, string> {
  const mapping = new Map<string, string>(settings.allowedGroups.map((group) => [group, AIRFLOW_SSO_ROLES.member]));
  mapping.set(settings.adminGroup, AIRFLOW_SSO_ROLES.admin);
  return mapping;
}

/**
 * The `webserver_config.py` of the API server. Its upper-case names are Flask-AppBuilder
 * settings (Flask's `from_pyfile` keeps upper-case names only); the spec's data sits in
 * lower-case names, as escaped literals.
 *
 * Who gets in (`get_oauth_user_info` returns no user, so FAB refuses the sign-in, otherwise):
 * - with `allowedGroups`: a member of one of them or of the admin group, read from the ID
 *   token's `groupsClaim`;
 * - with `allowedDomains`: an email at one of them, unless the token says `email_verified`
 *   false (both apply when both are given);
 * - the user is `sso_<sub>`: OIDC Core 1.0 §5.7, `sub` with `iss` is the only stable identifier
 *   of a user (a `preferred_username` or email may change or be reused);
 * - its email is kept only when the token does not say `email_verified` false: FAB's user table
 *   holds each email once (providers/fab auth_manager/models/__init__.py L245, `unique=True`) and
 *   refuses a new user whose email is taken (`add_user` returns None: "Error creating a new OAuth
 *   user"), so an unverified address could lock its real owner out; without one FAB stores
 *   `sso_<sub>@email.notfound` (override.py `auth_user_oauth`).
 *
 * How long a sign-in lasts ({@link AIRFLOW_SSO_SESSION_MINUTES}): `auth_user_oauth` (FAB calls it
 * after the provider round trip, Flask-AppBuilder v5.0.1 security/views.py L713, before
 * `login_user`) records the time in the session; the security manager's `before_request`, which
 * the FAB app runs before every request (providers/fab www/extensions/init_appbuilder.py L207
 * `app.before_request(self.sm.before_request)`; www/security_manager.py L53-57 sets `g.user`),
 * signs out a Flask-Login session (`_user_id`) older than that, or without the time (one signed
 * in before this config). SESSION_REFRESH_EACH_REQUEST False stops an unchanged session's cookie
 * and stored expiry from sliding (Flask 2.2.5 sessions.py `should_set_cookie`; flask-session
 * 0.8.0 base.py L221-232 `should_set_storage`, the provider asks `flask-session>=0.8.0`).
 */
export function airflowWebserverConfig(settings: SsoSettings): string {
  const mapping = rolesMapping(settings);
  const registrationRole = settings.allowedGroups.length > 0 ? AIRFLOW_SSO_ROLES.nobody : AIRFLOW_SSO_ROLES.member;
  const lines = [
    '"""Sign-in through the OIDC provider of the spec\'s sso (generated: constructs/apps/airflow-sso.ts)."""',
    "import time",
    "",
    "import flask",
    "import flask_appbuilder.const as fab_const",
    "import flask_login",
    "",
    "from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride",
    "",
    `issuer = ${pythonString(settings.issuer)}`,
    `client_id = ${pythonString(settings.clientId)}`,
    `groups_claim = ${pythonString(settings.groupsClaim)}`,
    `admin_group = ${pythonString(settings.adminGroup)}`,
    `allowed_groups = ${pythonList(settings.allowedGroups)}`,
    `allowed_domains = ${pythonList(settings.allowedDomains.map((domain) => domain.toLowerCase()))}`,
    `session_max_age = ${AIRFLOW_SSO_SESSION_MINUTES * 60}`,
    "",
    `with open(${pythonString(`${AIRFLOW_SSO_SECRET_DIR}/client-secret`)}, encoding="utf-8") as secret_file:`,
    "    client_secret = secret_file.read().strip()",
    "",
    "AUTH_TYPE = fab_const.AUTH_OAUTH",
    "AUTH_USER_REGISTRATION = True",
    `AUTH_USER_REGISTRATION_ROLE = ${pythonString(registrationRole)}`,
    "AUTH_ROLES_SYNC_AT_LOGIN = True",
    "SESSION_REFRESH_EACH_REQUEST = False",
    "AUTH_ROLES_MAPPING = dict(",
    "    [",
    ...[...mapping].map(([group, role]) => `        (${pythonString(group)}, [${pythonString(role)}]),`),
    "    ]",
    ")",
    "OAUTH_PROVIDERS = [",
    "    dict(",
    `        name=${pythonString(AIRFLOW_SSO_PROVIDER)},`,
    '        icon="fa-key",',
    '        token_key="access_token",',
    "        remote_app=dict(",
    "            client_id=client_id,",
    "            client_secret=client_secret,",
    '            server_metadata_url=issuer + "/.well-known/openid-configuration",',
    '            client_kwargs=dict(scope="openid email profile", code_challenge_method="S256"),',
    "        ),",
    "    ),",
    "]",
    "",
    "",
    "class SsoSecurityManager(FabAirflowSecurityManagerOverride):",
    '    """The user from the ID token\'s claims (validated by Authlib); no user outside the allowed groups or domains."""',
    "",
    "    def get_oauth_user_info(self, provider, resp):",
    '        claims = resp.get("userinfo") or dict()',
    "        groups = claims.get(groups_claim) or []",
    "        if isinstance(groups, str):",
    "            groups = [groups]",
    "        groups = [str(group) for group in groups]",
    // FAB keeps emails unique (providers/fab auth_manager/models/__init__.py L245); an unverified one could take a colleague's.
    '        email = "" if claims.get("email_verified") is False else str(claims.get("email") or "")',
    '        subject = str(claims.get("sub") or "")',
    "        if not subject:",
    "            return dict()",
    "        if allowed_groups and admin_group not in groups and not any(group in allowed_groups for group in groups):",
    "            return dict()",
    '        if allowed_domains and (claims.get("email_verified") is False or email.rpartition("@")[2].lower() not in allowed_domains):',
    "            return dict()",
    "        return dict(",
    '            username="sso_" + subject,',
    "            email=email,",
    '            first_name=str(claims.get("given_name") or claims.get("name") or ""),',
    '            last_name=str(claims.get("family_name") or ""),',
    "            role_keys=groups,",
    "        )",
    "",
    "    def auth_user_oauth(self, userinfo, rotate_session_id=True):",
    "        user = super().auth_user_oauth(userinfo, rotate_session_id)",
    "        if user:",
    '            flask.session["sso_signed_in_at"] = int(time.time())',
    "        return user",
    "",
    "    @staticmethod",
    "    def before_request():",
    '        signed_in_at = flask.session.get("sso_signed_in_at")',
    '        if "_user_id" in flask.session and (not isinstance(signed_in_at, int) or time.time() - signed_in_at > session_max_age):',
    "            flask_login.logout_user()",
    '            flask.session.pop("sso_signed_in_at", None)',
    "        FabAirflowSecurityManagerOverride.before_request()",
    "",
    "",
    "SECURITY_MANAGER_CLASS = SsoSecurityManager",
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * The chart values of an API server that signs users in through the provider: the generated
 * config, and the client secret as a read-only file from the Secret synced into the namespace
 * (`ssoClientHandover`). Values keys of chart 1.19.0: `apiServer.apiServerConfig`,
 * `apiServer.extraVolumes`, `apiServer.extraVolumeMounts` (templates/api-server/
 * api-server-deployment.yaml).
 */
export function airflowSsoValues(sso: AppSso | undefined): Record<string, unknown> {
  if (sso === undefined) return {};
  if (sso.mode !== "oidc") throw new Error("Airflow signs users in itself: its SSO mode must be oidc");
  const config = airflowWebserverConfig(sso.settings);
  return {
    apiServerConfig: config,
    /**
     * Chart 1.19.0 checksums neither the config's ConfigMap in the API server's pod template
     * (api-server-deployment.yaml L84-91: metadata, pgbouncer, airflow.cfg, extra ConfigMaps and
     * Secrets, JWT secret) nor does the kubelet update its subPath mount, and FAB reads the file
     * once at start (providers/fab www/app.py `from_pyfile`): without this hash a changed group,
     * admin group or domain would wait for an unrelated restart. `apiServer.podAnnotations` is
     * rendered into the pod template (L96-98), so a new hash rolls the Deployment.
     */
    podAnnotations: { [AIRFLOW_SSO_CONFIG_CHECKSUM]: createHash("sha256").update(config).digest("hex") },
    extraVolumes: [{ name: "sso-client", secret: { secretName: sso.clientSecret.name, items: [{ key: sso.clientSecret.key, path: "client-secret" }] } }],
    extraVolumeMounts: [{ name: "sso-client", mountPath: AIRFLOW_SSO_SECRET_DIR, readOnly: true }],
  };
}

/**
 * The airflow.cfg sections of an Airflow that signs users in through the provider (chart
 * `config`; option names: providers/fab provider.yaml `config.fab` at 1b3329eb67, airflow-core
 * config.yml `api_auth` at 5f609bdcfa; both read as strings):
 * - `[fab] cookie_secure`: the FAB session (OAuth state, then the user) over HTTPS only
 *   (www/app.py: SESSION_COOKIE_SECURE, default False); the chart's `enable_proxy_fix` stays, Helm
 *   merges the maps;
 * - `[fab] session_lifetime_minutes`: the session's idle limit, no longer than its absolute one;
 * - `[api_auth] jwt_expiration_time`: the UI's and API's JWT ({@link AIRFLOW_SSO_JWT_SECONDS}).
 */
export function airflowSsoConfig(): Record<string, Record<string, string>> {
  return {
    fab: { cookie_secure: "True", session_lifetime_minutes: String(AIRFLOW_SSO_SESSION_MINUTES) },
    api_auth: { jwt_expiration_time: String(AIRFLOW_SSO_JWT_SECONDS) },
  };
}
