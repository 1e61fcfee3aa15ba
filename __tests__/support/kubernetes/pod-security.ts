/**
 * The Pod Security Standards as the API server's admission enforces them at Kubernetes 1.31,
 * encoded from k8s.io/pod-security-admission at tag v0.31.0 (policy/ is unchanged to v0.31.14):
 * one function per check of policy/check_*.go, at the check version active for 1.31, applied
 * to init, regular and ephemeral containers (policy/visitor.go). `restricted` is `baseline` plus
 * the restricted checks, each replacing the baseline check it overrides (policy/registry.go).
 */

export type Level = "privileged" | "baseline" | "restricted";

interface SecurityContext {
  readonly privileged?: boolean;
  /** Not a Pod Security control; kept so rendered security contexts type-check as they are. */
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly procMount?: string;
  readonly capabilities?: { readonly add?: readonly string[]; readonly drop?: readonly string[] };
  readonly seccompProfile?: { readonly type?: string };
  readonly appArmorProfile?: { readonly type?: string };
  readonly seLinuxOptions?: { readonly type?: string; readonly user?: string; readonly role?: string };
  readonly windowsOptions?: { readonly hostProcess?: boolean };
  readonly sysctls?: readonly { readonly name: string; readonly value?: string }[];
}

export interface Container {
  readonly name: string;
  readonly securityContext?: SecurityContext;
  readonly ports?: readonly { readonly containerPort?: number; readonly hostPort?: number }[];
  /** Environment variables, where a chart model encodes them (not looked at by Pod Security). */
  readonly env?: readonly EnvVar[];
}

/** An environment variable: its name, and the Secret key it comes from, if any. */
export interface EnvVar {
  readonly name: string;
  readonly secretKeyRef?: { readonly name: string; readonly key: string };
}

/** The parts of a Pod that Pod Security looks at. */
export interface PodSecuritySubject {
  readonly annotations?: Readonly<Record<string, string>>;
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
  readonly os?: { readonly name?: string };
  readonly securityContext?: SecurityContext;
  readonly volumes?: readonly Record<string, unknown>[];
  readonly initContainers?: readonly Container[];
  readonly containers: readonly Container[];
}

type Check = (pod: PodSecuritySubject) => string[];

const containersOf = (pod: PodSecuritySubject): readonly Container[] => [...(pod.initContainers ?? []), ...pod.containers];
const forEachContainer = (pod: PodSecuritySubject, problem: (container: Container) => string | undefined): string[] =>
  containersOf(pod).flatMap((container) => {
    const found = problem(container);
    return found ? [`container ${container.name}: ${found}`] : [];
  });

/** check_capabilities_baseline.go */
const BASELINE_CAPABILITIES = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
/** check_sysctls.go, sysctlsV1Dot29 */
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
/** check_seLinuxOptions.go, seLinuxOptions1_31 */
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
/** check_restrictedVolumes.go */
const RESTRICTED_VOLUME_SOURCES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const PROFILE_TYPES = new Set(["RuntimeDefault", "Localhost"]);

const volumeSource = (volume: Record<string, unknown>) => Object.keys(volume).find((key) => key !== "name") ?? "unknown";
const isWindows = (pod: PodSecuritySubject) => pod.os?.name === "windows";

const BASELINE: Readonly<Record<string, Check>> = {
  hostNamespaces: (pod) => (["hostNetwork", "hostPID", "hostIPC"] as const).filter((field) => pod[field] === true).map((field) => `${field}=true`),
  privileged: (pod) => forEachContainer(pod, (c) => (c.securityContext?.privileged === true ? "privileged=true" : undefined)),
  capabilities_baseline: (pod) =>
    forEachContainer(pod, (c) => {
      const added = (c.securityContext?.capabilities?.add ?? []).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
      return added.length > 0 ? `non-default capabilities ${added.join(", ")}` : undefined;
    }),
  hostPathVolumes: (pod) => (pod.volumes ?? []).filter((v) => "hostPath" in v).map((v) => `hostPath volume ${String(v.name)}`),
  hostPorts: (pod) => forEachContainer(pod, (c) => ((c.ports ?? []).some((p) => (p.hostPort ?? 0) !== 0) ? "hostPort" : undefined)),
  appArmorProfile: (pod) => {
    const bad = (type: string | undefined) => type !== undefined && !PROFILE_TYPES.has(type);
    const annotations = Object.entries(pod.annotations ?? {}).filter(
      ([key, value]) => key.startsWith("container.apparmor.security.beta.kubernetes.io/") && !(value === "" || value === "runtime/default" || value.startsWith("localhost/")),
    );
    return [
      ...(bad(pod.securityContext?.appArmorProfile?.type) ? ["pod appArmorProfile"] : []),
      ...forEachContainer(pod, (c) => (bad(c.securityContext?.appArmorProfile?.type) ? "appArmorProfile" : undefined)),
      ...annotations.map(([key]) => `annotation ${key}`),
    ];
  },
  seLinuxOptions: (pod) => {
    const bad = (options: SecurityContext["seLinuxOptions"]) => options !== undefined && (!SELINUX_TYPES.has(options.type ?? "") || !!options.user || !!options.role);
    return [...(bad(pod.securityContext?.seLinuxOptions) ? ["pod seLinuxOptions"] : []), ...forEachContainer(pod, (c) => (bad(c.securityContext?.seLinuxOptions) ? "seLinuxOptions" : undefined))];
  },
  procMount: (pod) => forEachContainer(pod, (c) => (c.securityContext?.procMount !== undefined && c.securityContext.procMount !== "Default" ? `procMount=${c.securityContext.procMount}` : undefined)),
  seccompProfile_baseline: (pod) => {
    const bad = (type: string | undefined) => type !== undefined && !PROFILE_TYPES.has(type);
    return [...(bad(pod.securityContext?.seccompProfile?.type) ? ["pod seccompProfile"] : []), ...forEachContainer(pod, (c) => (bad(c.securityContext?.seccompProfile?.type) ? "seccompProfile" : undefined))];
  },
  sysctls: (pod) => (pod.securityContext?.sysctls ?? []).filter((s) => !SAFE_SYSCTLS.has(s.name)).map((s) => `sysctl ${s.name}`),
  windowsHostProcess: (pod) => [
    ...(pod.securityContext?.windowsOptions?.hostProcess === true ? ["pod hostProcess"] : []),
    ...forEachContainer(pod, (c) => (c.securityContext?.windowsOptions?.hostProcess === true ? "hostProcess" : undefined)),
  ],
};

/** Restricted checks, and the baseline check each replaces. */
const RESTRICTED: Readonly<Record<string, { readonly check: Check; readonly overrides?: string }>> = {
  restrictedVolumes: {
    overrides: "hostPathVolumes",
    check: (pod) => (pod.volumes ?? []).filter((v) => !RESTRICTED_VOLUME_SOURCES.has(volumeSource(v))).map((v) => `${volumeSource(v)} volume ${String(v.name)}`),
  },
  allowPrivilegeEscalation: {
    check: (pod) => (isWindows(pod) ? [] : forEachContainer(pod, (c) => (c.securityContext?.allowPrivilegeEscalation !== false ? "allowPrivilegeEscalation != false" : undefined))),
  },
  runAsNonRoot: {
    check: (pod) => {
      if (pod.securityContext?.runAsNonRoot === false) return ["pod runAsNonRoot=false"];
      return forEachContainer(pod, (c) => {
        const own = c.securityContext?.runAsNonRoot;
        if (own === false) return "runAsNonRoot=false";
        return own === true || pod.securityContext?.runAsNonRoot === true ? undefined : "runAsNonRoot != true";
      });
    },
  },
  runAsUser: {
    check: (pod) => [...(pod.securityContext?.runAsUser === 0 ? ["pod runAsUser=0"] : []), ...forEachContainer(pod, (c) => (c.securityContext?.runAsUser === 0 ? "runAsUser=0" : undefined))],
  },
  seccompProfile_restricted: {
    overrides: "seccompProfile_baseline",
    check: (pod) => {
      if (isWindows(pod)) return [];
      const podType = pod.securityContext?.seccompProfile?.type;
      if (podType !== undefined && !PROFILE_TYPES.has(podType)) return ["pod seccompProfile"];
      return forEachContainer(pod, (c) => {
        const type = c.securityContext?.seccompProfile?.type ?? podType;
        return type !== undefined && PROFILE_TYPES.has(type) ? undefined : "seccompProfile not RuntimeDefault or Localhost";
      });
    },
  },
  capabilities_restricted: {
    overrides: "capabilities_baseline",
    check: (pod) =>
      isWindows(pod)
        ? []
        : forEachContainer(pod, (c) => {
            const capabilities = c.securityContext?.capabilities;
            if (!(capabilities?.drop ?? []).includes("ALL")) return "capabilities.drop does not contain ALL";
            const added = (capabilities?.add ?? []).filter((cap) => cap !== "NET_BIND_SERVICE");
            return added.length > 0 ? `capabilities ${added.join(", ")} added` : undefined;
          }),
  },
};

/** The checks a level applies, by id. */
export function checksOf(level: Level): Readonly<Record<string, Check>> {
  if (level === "privileged") return {};
  if (level === "baseline") return BASELINE;
  const overridden = new Set(Object.values(RESTRICTED).map((r) => r.overrides));
  const baseline = Object.entries(BASELINE).filter(([id]) => !overridden.has(id));
  return Object.fromEntries([...baseline, ...Object.entries(RESTRICTED).map(([id, r]) => [id, r.check] as const)]);
}

/** Every violation of a level's checks by a pod, as `<check>: <what>`. */
export function podSecurityViolations(pod: PodSecuritySubject, level: Level): string[] {
  return Object.entries(checksOf(level)).flatMap(([id, check]) => check(pod).map((problem) => `${id}: ${problem}`));
}

/**
 * The pod the API server admits for a template: with hostNetwork, it fills every container port's
 * hostPort with the containerPort (pkg/apis/core/v1/defaults.go, SetDefaults_Pod), so admission
 * sees host ports that the template does not show.
 */
export function admittedPod(template: PodSecuritySubject): PodSecuritySubject {
  if (template.hostNetwork !== true) return template;
  const withHostPorts = (c: Container): Container => ({ ...c, ports: (c.ports ?? []).map((p) => ({ ...p, hostPort: p.hostPort ?? p.containerPort })) });
  return { ...template, initContainers: template.initContainers?.map(withHostPorts), containers: template.containers.map(withHostPorts) };
}
