// Checks a rendered overlay (`kubectl kustomize overlays/<name>`) against the environment
// file it was built from and against the rules a Synapse deployment must follow
// (the shared DOMAIN.md notes; each fact is restated where a check uses it).
//
//   node check-render.mjs --env ENV.toml --render OVERLAY.yaml --base BASE.yaml
//                         [--clusters DIR] [--label NAME]
//   node check-render.mjs --base-only BASE.yaml [--label NAME]
//   node check-render.mjs --self-test
//
// --env-json ENV.json may replace --env: the environment file already turned into JSON by
// `taplo get -o json` (taplo takes seconds to start; a caller that checks many renders of
// one environment converts it once).
//
// The expected values come from the environment file (read with taplo) and the default
// sizes of DOMAIN.md section 7, never from synoverlay's own record. Kustomize silently
// ignores a patch or image entry that matches nothing, so every check compares values in
// the rendered objects. Prints "ok - ..." or "not ok - ..." per check; exit status 1 when
// any check failed.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  Report,
  canonicalQuantity,
  describe,
  loadEnvironment,
  loadObjects,
  parseArguments,
} from "./render-lib.mjs";

// ---------------------------------------------------------------------------------------
// Facts.

const kSynapseServices = ["aha", "axon", "jsonstor", "cortex", "optic"];
const kDependents = ["axon", "jsonstor", "cortex", "optic"];

// DOMAIN.md section 7: what a service gets when the environment file says nothing.
const kDefaults = {
  aha: { requests: ["100m", "256Mi"], limits: ["500m", "512Mi"], storage: "2Gi" },
  axon: { requests: ["250m", "512Mi"], limits: ["1", "2Gi"], storage: "50Gi" },
  jsonstor: { requests: ["100m", "256Mi"], limits: ["500m", "1Gi"], storage: "10Gi" },
  cortex: { requests: ["500m", "1Gi"], limits: ["2", "4Gi"], storage: "50Gi" },
  optic: { requests: ["250m", "512Mi"], limits: ["1", "2Gi"], storage: "2Gi" },
};

// DOMAIN.md section 1: who waits for whom.
const kWaitsFor = {
  axon: ["aha"],
  jsonstor: ["aha"],
  cortex: ["aha", "axon", "jsonstor"],
  optic: ["aha", "cortex", "axon"],
};

const kImageNames = {
  aha: "synapse-aha",
  axon: "synapse-axon",
  jsonstor: "synapse-jsonstor",
  cortex: "synapse-cortex",
  optic: "optic",
};

const kHealthcheck = ["-m", "synapse.tools.service.healthcheck", "-c", "cell:///vertex/storage"];

// Kinds that live outside any namespace (only Namespace may appear in a render).
const kClusterScoped = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "IngressClass",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
]);

// Pod Security Standards "restricted": the volume types it admits.
const kAllowedVolumes = new Set([
  "configMap",
  "secret",
  "emptyDir",
  "projected",
  "downwardAPI",
  "csi",
  "ephemeral",
  "persistentVolumeClaim",
]);

const kWave = "argocd.argoproj.io/sync-wave";
const kHook = "argocd.argoproj.io/hook";
const kHookDelete = "argocd.argoproj.io/hook-delete-policy";
const kFluxForce = "kustomize.toolkit.fluxcd.io/force";

// ---------------------------------------------------------------------------------------
// What the environment file asks for.

function canonical(value, where, problems) {
  const result = canonicalQuantity(value);
  if (result === null) problems.push(`${where}: '${value}' is not a quantity`);
  return result ?? String(value);
}

// The environment with every default filled in, as the render must show it.
function expectedEnvironment(file) {
  const problems = [];
  const name = file.name;
  const namespace = file.namespace ?? "synapse";
  const opticOn = file.optic !== undefined && file.optic.enabled !== false;
  const services = kSynapseServices.filter((svc) => svc !== "optic" || opticOn);
  const perService = {};
  for (const svc of kSynapseServices) {
    const table = file[svc] ?? {};
    const defaults = kDefaults[svc];
    const resources = (kind) => {
      const given = table[kind] ?? {};
      return {
        cpu: canonical(given.cpu ?? defaults[kind][0], `${svc}.${kind}.cpu`, problems),
        memory: canonical(given.memory ?? defaults[kind][1], `${svc}.${kind}.memory`, problems),
      };
    };
    const repository = `${file.registry ?? "vertexproject"}/${kImageNames[svc]}`;
    const tag = svc === "optic" ? table.version : file.version;
    perService[svc] = {
      image: `${repository}:${tag}${table.digest ? `@${table.digest}` : ""}`,
      requests: resources("requests"),
      limits: resources("limits"),
      storage: canonical(table.storage ?? defaults.storage, `${svc}.storage`, problems),
      pullSecret: svc === "optic" ? table.pull_secret : file.pull_secret,
      config: configVariables(svc, table.config ?? {}),
    };
  }
  const expected = {
    name,
    namespace,
    clusterDomain: file.cluster_domain ?? "cluster.local",
    network: file.aha?.network ?? `${name}.synapse`,
    storageClass: file.storage_class,
    opticOn,
    services,
    service: perService,
    netloc: file.optic?.netloc,
    ingress: opticOn ? file.optic?.ingress : undefined,
    provisioning: file.provisioning ?? {},
    gitops: file.gitops,
  };
  return { expected, problems };
}

// `[<svc>.config]` as the variables Synapse reads: SYN_<SVC>_<OPTION>, the option upper-cased
// with ':' turned into '_', every value a string (DOMAIN.md section 1).
function configVariables(svc, config) {
  const variables = {};
  for (const [option, value] of Object.entries(config)) {
    const variable = `SYN_${svc.toUpperCase()}_${option.toUpperCase().replace(/:/g, "_")}`;
    variables[variable] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return variables;
}

// ---------------------------------------------------------------------------------------
// Looking things up in a render.

function find(objects, kind, name) {
  return objects.find((o) => o.kind === kind && o.metadata?.name === name);
}

function ofKind(objects, kind) {
  return objects.filter((o) => o.kind === kind);
}

// Every pod template of the render with its owner: StatefulSets, Jobs and any other
// workload kind, so that nothing escapes the pod checks.
function podTemplates(objects) {
  const templates = [];
  for (const o of objects) {
    if (["StatefulSet", "Deployment", "DaemonSet", "ReplicaSet", "Job"].includes(o.kind)) {
      templates.push({ owner: o, spec: o.spec?.template?.spec ?? {}, meta: o.spec?.template });
    } else if (o.kind === "CronJob") {
      const template = o.spec?.jobTemplate?.spec?.template;
      templates.push({ owner: o, spec: template?.spec ?? {}, meta: template });
    } else if (o.kind === "Pod") {
      templates.push({ owner: o, spec: o.spec ?? {}, meta: o });
    }
  }
  return templates;
}

function allContainers(spec) {
  return [
    ...(spec.initContainers ?? []).map((c) => ({ container: c, init: true })),
    ...(spec.containers ?? []).map((c) => ({ container: c, init: false })),
    ...(spec.ephemeralContainers ?? []).map((c) => ({ container: c, init: false })),
  ];
}

function mainContainer(sts, svc) {
  return (sts?.spec?.template?.spec?.containers ?? []).find((c) => c.name === svc);
}

// The variables a container sees: its ConfigMaps (envFrom) overridden by its own env.
function containerVariables(container, objects, where, problems) {
  const variables = {};
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue;
    const configMap = find(objects, "ConfigMap", source.configMapRef.name);
    if (!configMap) {
      problems.push(`${where}: envFrom names ConfigMap '${source.configMapRef.name}', which ` +
        "the render does not hold");
      continue;
    }
    for (const [key, value] of Object.entries(configMap.data ?? {})) {
      variables[(source.prefix ?? "") + key] = value;
    }
  }
  for (const entry of container.env ?? []) {
    if ("value" in entry) variables[entry.name] = entry.value;
  }
  return variables;
}

// Every string of a value, keys included, as [path, text, isKey], for searches over a whole
// object.
function* strings(value, path = []) {
  if (typeof value === "string") {
    yield [path, value, false];
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) yield* strings(value[i], [...path, i]);
  } else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      yield [[...path, key], key, true];
      yield* strings(inner, [...path, key]);
    }
  }
}

function wave(object) {
  const text = object.metadata?.annotations?.[kWave];
  return text === undefined ? 0 : Number(text);
}

// Which phase an object belongs to, from its kind and its name (objects of a service are
// named after it: "aha", "aha-headless", "aha-config-<hash>").
function phaseOf(object, job) {
  const name = object.metadata?.name ?? "";
  if (object.kind === "Namespace") return "setup";
  if (object.kind === "Job") return "job";
  if (["ServiceAccount", "Role", "RoleBinding"].includes(object.kind)) return "setup";
  const jobConfigMaps = (job?.spec?.template?.spec?.volumes ?? [])
    .map((v) => v.configMap?.name)
    .filter(Boolean);
  if (object.kind === "ConfigMap" && jobConfigMaps.includes(name)) return "setup";
  for (const svc of kSynapseServices) {
    if (name === svc || name.startsWith(`${svc}-`)) return svc;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Checks that hold for any render, base or overlay.

function checkStructure(report, objects) {
  report.run("every document is an object with apiVersion, kind and metadata.name", (p) => {
    if (objects.length === 0) p.push("the render holds no object");
    for (const [i, o] of objects.entries()) {
      if (!o.apiVersion || !o.kind || !o.metadata?.name) {
        p.push(`document ${i + 1}: ${describe(o)}`);
      }
    }
  });
}

function checkNamespace(report, objects, namespace) {
  report.run(`every namespaced object is in namespace '${namespace}'`, (p) => {
    const namespaces = ofKind(objects, "Namespace");
    if (namespaces.length !== 1 || namespaces[0].metadata.name !== namespace) {
      p.push(`expected one Namespace '${namespace}', found: ` +
        (namespaces.map((n) => n.metadata.name).join(", ") || "none"));
    }
    for (const o of objects) {
      if (kClusterScoped.has(o.kind)) continue;
      if (o.metadata?.namespace !== namespace) {
        p.push(`${describe(o)} has namespace '${o.metadata?.namespace ?? "(none)"}'`);
      }
    }
    for (const binding of ofKind(objects, "RoleBinding")) {
      for (const subject of binding.subjects ?? []) {
        if (subject.kind === "ServiceAccount" && subject.namespace !== namespace) {
          p.push(`${describe(binding)}: subject ${subject.name} in namespace ` +
            `'${subject.namespace ?? "(none)"}'`);
        }
      }
    }
  });

  report.run(`no other namespace's name appears (every *.svc name is in '${namespace}')`, (p) => {
    for (const o of objects) {
      for (const [path, text, isKey] of strings(o)) {
        const where = `${describe(o)} ${path.join(".")}`;
        if (!isKey && path[path.length - 1] === "namespace" && text !== namespace) {
          p.push(`${where} = '${text}'`);
        }
        for (const match of text.matchAll(/([a-z0-9-]+)\.svc(?![a-z0-9-])/g)) {
          if (match[1] !== namespace) p.push(`${where} names '${match[0]}'`);
        }
        // The deployment's own name "synapse" (app.kubernetes.io/part-of) is not a namespace.
        const isPartOf = path.includes("app.kubernetes.io/part-of");
        if (namespace !== "synapse" && text === "synapse" && !isPartOf) {
          p.push(`${where} is 'synapse', the namespace of another deployment`);
        }
      }
    }
  });
}

function checkForbiddenThings(report, objects, renderText) {
  report.run("no DMON_LISTEN anywhere", (p) => {
    if (renderText.includes("DMON_LISTEN")) p.push("the render mentions DMON_LISTEN");
    for (const o of objects) {
      for (const [path, text] of strings(o)) {
        if (text.includes("DMON_LISTEN")) p.push(`${describe(o)} ${path.join(".")}`);
      }
    }
  });

  report.run("no Secret objects (no secretGenerator output, nothing to leak)", (p) => {
    for (const o of ofKind(objects, "Secret")) p.push(`${describe(o)} is in the render`);
  });

  report.run("no ClusterRole or ClusterRoleBinding", (p) => {
    for (const o of objects) {
      if (o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding") p.push(describe(o));
      if (o.kind === "RoleBinding" && o.roleRef?.kind !== "Role") {
        p.push(`${describe(o)} binds a ${o.roleRef?.kind}`);
      }
    }
  });

  report.run("no pod template carries a restartedAt annotation (no rollout restart)", (p) => {
    for (const { owner, meta } of podTemplates(objects)) {
      const annotations = meta?.metadata?.annotations ?? {};
      if ("kubectl.kubernetes.io/restartedAt" in annotations) p.push(describe(owner));
    }
  });

  report.run("no PodDisruptionBudget blocks a drain of a single replica", (p) => {
    for (const pdb of ofKind(objects, "PodDisruptionBudget")) {
      if (pdb.spec?.minAvailable !== undefined && pdb.spec.minAvailable !== 0) {
        p.push(`${describe(pdb)} has minAvailable ${pdb.spec.minAvailable}`);
      }
    }
  });
}

function checkProbes(report, objects, services) {
  report.run("no livenessProbe on any container", (p) => {
    for (const { owner, spec } of podTemplates(objects)) {
      for (const { container } of allContainers(spec)) {
        if (container.livenessProbe) p.push(`${describe(owner)} container ${container.name}`);
      }
    }
  });

  report.run("startup and readiness probes exec the healthcheck module", (p) => {
    for (const svc of services) {
      const container = mainContainer(find(objects, "StatefulSet", svc), svc);
      if (!container) {
        p.push(`StatefulSet ${svc} has no container '${svc}'`);
        continue;
      }
      for (const kind of ["startupProbe", "readinessProbe"]) {
        const command = container[kind]?.exec?.command ?? [];
        const at = command.indexOf("-m");
        const ok = /^python[0-9.]*$/.test(command[0] ?? "") &&
          at >= 0 && kHealthcheck.every((word, i) => command[at + i] === word);
        if (!ok) p.push(`${svc} ${kind}: ${JSON.stringify(container[kind] ?? null)}`);
      }
      const startup = container.startupProbe ?? {};
      const patience = (startup.failureThreshold ?? 3) * (startup.periodSeconds ?? 10);
      if (patience < 3600) {
        p.push(`${svc} startupProbe gives up after ${patience}s; migrations can take hours`);
      }
    }
  });
}

function checkHeadlessServices(report, objects) {
  report.run("every StatefulSet's serviceName is a headless Service", (p) => {
    for (const sts of ofKind(objects, "StatefulSet")) {
      const service = find(objects, "Service", sts.spec?.serviceName);
      if (!service) p.push(`${describe(sts)}: no Service '${sts.spec?.serviceName}'`);
      else if (service.spec?.clusterIP !== "None") p.push(`${describe(service)} is not headless`);
    }
  });
}

// Pod Security Standards "restricted" (DOMAIN.md section 6) on every pod template.
function checkPodSecurity(report, objects, services) {
  report.run("every pod template meets Pod Security 'restricted'", (p) => {
    const templates = podTemplates(objects);
    if (templates.length === 0) p.push("the render has no pod template");
    for (const { owner, spec } of templates) {
      const where = describe(owner);
      const pod = spec.securityContext ?? {};
      for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (spec[field]) p.push(`${where}: ${field}`);
      }
      for (const volume of spec.volumes ?? []) {
        for (const type of Object.keys(volume).filter((k) => k !== "name")) {
          if (!kAllowedVolumes.has(type)) p.push(`${where}: volume ${volume.name} is ${type}`);
        }
      }
      if (pod.runAsUser === 0) p.push(`${where}: pod runAsUser 0`);
      const podSeccomp = pod.seccompProfile?.type;
      if (podSeccomp !== undefined && !["RuntimeDefault", "Localhost"].includes(podSeccomp)) {
        p.push(`${where}: pod seccompProfile ${podSeccomp}`);
      }
      for (const { container, init } of allContainers(spec)) {
        const at = `${where} ${init ? "init container" : "container"} ${container.name}`;
        const own = container.securityContext ?? {};
        if ((own.runAsNonRoot ?? pod.runAsNonRoot) !== true) {
          p.push(`${at}: runAsNonRoot is not true`);
        }
        const uid = own.runAsUser ?? pod.runAsUser;
        if (uid === undefined || uid === 0) p.push(`${at}: runAsUser is ${uid ?? "unset"}`);
        if (own.allowPrivilegeEscalation !== false) {
          p.push(`${at}: allowPrivilegeEscalation is not false`);
        }
        if (!(own.capabilities?.drop ?? []).includes("ALL")) {
          p.push(`${at}: capabilities.drop lacks ALL`);
        }
        for (const added of own.capabilities?.add ?? []) {
          if (added !== "NET_BIND_SERVICE") p.push(`${at}: adds capability ${added}`);
        }
        if (own.privileged) p.push(`${at}: privileged`);
        const seccomp = own.seccompProfile?.type ?? podSeccomp;
        if (!["RuntimeDefault", "Localhost"].includes(seccomp)) {
          p.push(`${at}: seccompProfile is ${seccomp ?? "unset"}`);
        }
        for (const port of container.ports ?? []) {
          if (port.hostPort) p.push(`${at}: hostPort ${port.hostPort}`);
        }
      }
    }
  });

  report.run("Synapse pods run as UID/GID 999 with fsGroup 999", (p) => {
    for (const svc of services) {
      const sts = find(objects, "StatefulSet", svc);
      if (!sts) {
        p.push(`no StatefulSet ${svc}`);
        continue;
      }
      const spec = sts.spec?.template?.spec ?? {};
      const pod = spec.securityContext ?? {};
      for (const field of ["runAsUser", "runAsGroup", "fsGroup"]) {
        if (pod[field] !== 999) p.push(`${svc}: pod ${field} is ${pod[field] ?? "unset"}`);
      }
      for (const { container } of allContainers(spec)) {
        const own = container.securityContext ?? {};
        for (const field of ["runAsUser", "runAsGroup"]) {
          if (own[field] !== undefined && own[field] !== 999) {
            p.push(`${svc} container ${container.name}: ${field} ${own[field]}`);
          }
        }
      }
    }
  });
}

// The Role holds exactly the rules the provisioning Job needs (DOMAIN.md section 6).
function checkRbac(report, objects, services) {
  const secretNames = services.filter((s) => s !== "aha").map((s) => `${s}-provision`);
  const title = `Role rules are exactly the needed ones (secrets get: ${secretNames.join(" ")})`;
  report.run(title, (p) => {
    const roles = ofKind(objects, "Role");
    if (roles.length !== 1) {
      p.push(`expected one Role, found ${roles.length}`);
      if (roles.length === 0) return;
    }
    const normal = (rule) => JSON.stringify({
      apiGroups: [...(rule.apiGroups ?? [])].sort(),
      resources: [...(rule.resources ?? [])].sort(),
      verbs: [...(rule.verbs ?? [])].sort(),
      resourceNames: rule.resourceNames ? [...rule.resourceNames].sort() : null,
      nonResourceURLs: rule.nonResourceURLs ?? null,
    });
    const expected = [
      { apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["aha-0"] },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"],
        resourceNames: ["aha-0"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: secretNames },
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    ].map(normal).sort();
    for (const role of roles) {
      const actual = (role.rules ?? []).map(normal).sort();
      for (const rule of actual) {
        if (!expected.includes(rule)) p.push(`${describe(role)} has an unexpected rule ${rule}`);
      }
      for (const rule of expected) {
        if (!actual.includes(rule)) p.push(`${describe(role)} lacks the rule ${rule}`);
      }
      if (actual.length !== new Set(actual).size) p.push(`${describe(role)} repeats a rule`);
      for (const rule of role.rules ?? []) {
        const words = [...(rule.verbs ?? []), ...(rule.resources ?? []), ...(rule.apiGroups ?? [])];
        if (words.includes("*")) {
          p.push(`${describe(role)} has a wildcard: ${JSON.stringify(rule)}`);
        }
        for (const verb of ["list", "watch"]) {
          if ((rule.verbs ?? []).includes(verb)) p.push(`${describe(role)} grants ${verb}`);
        }
      }
    }
  });

  report.run("the Job runs as the ServiceAccount that the RoleBinding binds to the Role", (p) => {
    const jobs = ofKind(objects, "Job");
    const roles = ofKind(objects, "Role");
    const bindings = ofKind(objects, "RoleBinding");
    if (jobs.length !== 1) p.push(`expected one Job, found ${jobs.length}`);
    if (bindings.length !== 1) p.push(`expected one RoleBinding, found ${bindings.length}`);
    if (jobs.length !== 1 || bindings.length !== 1 || roles.length !== 1) return;
    const account = jobs[0].spec?.template?.spec?.serviceAccountName;
    const binding = bindings[0];
    if (!find(objects, "ServiceAccount", account)) p.push(`no ServiceAccount '${account}'`);
    if (binding.roleRef?.name !== roles[0].metadata.name) {
      p.push(`${describe(binding)} binds '${binding.roleRef?.name}'`);
    }
    const subjects = (binding.subjects ?? []).map((s) => `${s.kind}/${s.name}`);
    if (subjects.length !== 1 || subjects[0] !== `ServiceAccount/${account}`) {
      p.push(`${describe(binding)} subjects ${subjects.join(", ")}; ` +
        `expected ServiceAccount/${account}`);
    }
  });
}

// Argo CD waves follow the phases (DOMAIN.md sections 1 and 6); the Job is a Sync hook
// that Argo CD may recreate; only the Job may be force-replaced by Flux.
function checkOrdering(report, objects, services) {
  const job = ofKind(objects, "Job")[0];
  report.run("Argo CD sync waves follow the phases: setup/aha <= Job < axon,jsonstor < cortex " +
    "< optic", (p) => {
    if (!job) {
      p.push("no Job");
      return;
    }
    const groups = { setup: [], job: [], aha: [], axon: [], jsonstor: [], cortex: [], optic: [] };
    for (const o of objects) {
      const phase = phaseOf(o, job);
      if (phase === undefined) p.push(`${describe(o)} belongs to no phase`);
      else groups[phase].push(o);
      if (Number.isNaN(wave(o))) p.push(`${describe(o)}: sync-wave is not a number`);
    }
    const range = (list) => list.length === 0 ? null :
      { min: Math.min(...list.map(wave)), max: Math.max(...list.map(wave)) };
    const steps = [
      ["Namespace, RBAC, the Job's ConfigMaps and aha", [...groups.setup, ...groups.aha], "<="],
      ["the Job", groups.job, "<"],
      ["axon and jsonstor", [...groups.axon, ...groups.jsonstor], "<"],
      ["cortex", groups.cortex, "<"],
      ["optic", groups.optic, null],
    ];
    for (let i = 0; i + 1 < steps.length; i += 1) {
      const [name, list, relation] = steps[i];
      const low = range(list);
      let j = i + 1;
      while (j < steps.length && range(steps[j][1]) === null) j += 1;
      if (low === null || j === steps.length) continue;
      const high = range(steps[j][1]);
      const fine = relation === "<=" ? low.max <= high.min : low.max < high.min;
      if (!fine) {
        p.push(`${name} (waves ${low.min}..${low.max}) must come ${relation === "<=" ? "no later " +
          "than" : "before"} ${steps[j][0]} (waves ${high.min}..${high.max})`);
      }
    }
    for (const svc of services) {
      if (groups[svc].length === 0) p.push(`no object of ${svc}`);
    }
    if (!services.includes("optic") && groups.optic.length > 0) {
      p.push(`Optic is off, yet: ${groups.optic.map(describe).join(", ")}`);
    }
  });

  report.run("the Job is an Argo CD Sync hook (never PostSync) deleted BeforeHookCreation", (p) => {
    const annotations = job?.metadata?.annotations ?? {};
    if (annotations[kHook] !== "Sync") p.push(`hook is '${annotations[kHook] ?? "(none)"}'`);
    const policies = (annotations[kHookDelete] ?? "").split(",").map((s) => s.trim());
    if (!policies.includes("BeforeHookCreation")) {
      p.push(`hook-delete-policy is '${annotations[kHookDelete] ?? "(none)"}'`);
    }
  });

  report.run(`only the Job carries ${kFluxForce}: "enabled"`, (p) => {
    for (const o of objects) {
      const value = o.metadata?.annotations?.[kFluxForce];
      if (o.kind === "Job" && value !== "enabled") p.push(`${describe(o)}: '${value ?? "(none)"}'`);
      if (o.kind !== "Job" && value !== undefined) p.push(`${describe(o)} carries it`);
    }
  });
}

function checkDependents(report, objects, services) {
  const title = "dependent StatefulSets read <svc>-provision through a non-optional secretRef";
  report.run(title, (p) => {
    for (const svc of services.filter((s) => kDependents.includes(s))) {
      const container = mainContainer(find(objects, "StatefulSet", svc), svc);
      const refs = (container?.envFrom ?? []).filter((e) => e.secretRef);
      const ref = refs.find((e) => e.secretRef.name === `${svc}-provision`);
      if (!ref) p.push(`${svc}: no secretRef ${svc}-provision`);
      else if (ref.secretRef.optional === true) p.push(`${svc}: the secretRef is optional`);
    }
  });

  report.run("init containers wait for their dependencies by short Service name", (p) => {
    for (const svc of services.filter((s) => kDependents.includes(s))) {
      const spec = find(objects, "StatefulSet", svc)?.spec?.template?.spec ?? {};
      const words = new Set();
      for (const init of spec.initContainers ?? []) {
        for (const text of [...(init.command ?? []), ...(init.args ?? [])]) {
          if (text.includes(".svc")) p.push(`${svc} init container ${init.name}: '${text}'`);
          for (const word of text.split(/[\s,;:'"()[\]]+/)) words.add(word);
        }
        for (const entry of init.env ?? []) {
          if (String(entry.value ?? "").includes(".svc")) {
            p.push(`${svc} init container ${init.name}: ${entry.name}=${entry.value}`);
          }
        }
      }
      for (const dependency of kWaitsFor[svc]) {
        if (!words.has(dependency)) p.push(`${svc} does not wait for '${dependency}'`);
      }
    }
  });

  report.run("the Job's PROVISION_SERVICES lists exactly the enabled services but aha", (p) => {
    const container = ofKind(objects, "Job")[0]?.spec?.template?.spec?.containers?.[0];
    const entry = (container?.env ?? []).find((e) => e.name === "PROVISION_SERVICES");
    const listed = (entry?.value ?? "").split(/\s+/).filter(Boolean);
    const wanted = services.filter((s) => s !== "aha");
    if (listed.length !== new Set(listed).size) p.push(`a service is listed twice: ${listed}`);
    if ([...listed].sort().join(" ") !== [...wanted].sort().join(" ")) {
      p.push(`PROVISION_SERVICES is '${entry?.value ?? "(unset)"}'; expected ${wanted.join(" ")}`);
    }
  });
}

function checkQuantitiesCanonical(report, objects) {
  report.run("every quantity is in the API server's canonical form", (p) => {
    const look = (where, resources) => {
      for (const kind of ["requests", "limits"]) {
        for (const [key, value] of Object.entries(resources?.[kind] ?? {})) {
          const text = String(value);
          if (canonicalQuantity(text) !== text) {
            p.push(`${where} ${kind}.${key} '${text}' (canonical: ${canonicalQuantity(text)})`);
          }
        }
      }
    };
    for (const { owner, spec } of podTemplates(objects)) {
      for (const { container } of allContainers(spec)) {
        look(`${describe(owner)} ${container.name}`, container.resources);
      }
    }
    for (const sts of ofKind(objects, "StatefulSet")) {
      for (const claim of sts.spec?.volumeClaimTemplates ?? []) {
        look(`${describe(sts)} claim ${claim.metadata?.name}`, claim.spec?.resources);
      }
    }
  });
}

// The checks of a render whatever environment it came from.
function checkPolicies(report, objects, text, namespace, services) {
  checkStructure(report, objects);
  checkNamespace(report, objects, namespace);
  checkForbiddenThings(report, objects, text);
  checkProbes(report, objects, services);
  checkHeadlessServices(report, objects);
  checkPodSecurity(report, objects, services);
  checkRbac(report, objects, services);
  checkOrdering(report, objects, services);
  checkDependents(report, objects, services);
  checkQuantitiesCanonical(report, objects);
}

// ---------------------------------------------------------------------------------------
// Checks of the values the environment file declares.

function checkImages(report, objects, want) {
  report.run("image tags, digests and registry on every container and init container", (p) => {
    for (const svc of want.services) {
      const sts = find(objects, "StatefulSet", svc);
      const containers = allContainers(sts?.spec?.template?.spec ?? {});
      if (containers.length === 0) p.push(`StatefulSet ${svc} has no container`);
      for (const { container, init } of containers) {
        if (container.image !== want.service[svc].image) {
          p.push(`${svc} ${init ? "init " : ""}container ${container.name}: image ` +
            `'${container.image}', expected '${want.service[svc].image}'`);
        }
      }
    }
    const job = ofKind(objects, "Job")[0];
    for (const { container } of allContainers(job?.spec?.template?.spec ?? {})) {
      const image = container.image ?? "";
      const given = want.provisioning.image;
      if (given !== undefined && image !== given) {
        p.push(`Job image '${image}', expected '${given}'`);
      }
      if (given === undefined && !/^registry\.k8s\.io\/kubectl:v\d+\.\d+\.\d+$/.test(image)) {
        p.push(`Job image '${image}' is not a pinned registry.k8s.io/kubectl:vX.Y.Z`);
      }
    }
  });

  report.run("image pull secrets as declared", (p) => {
    for (const svc of want.services) {
      const secret = want.service[svc].pullSecret;
      if (secret === undefined) continue;
      const spec = find(objects, "StatefulSet", svc)?.spec?.template?.spec ?? {};
      const names = (spec.imagePullSecrets ?? []).map((s) => s.name);
      if (!names.includes(secret)) p.push(`${svc}: imagePullSecrets ${names}; expected ${secret}`);
    }
  });
}

function checkResources(report, objects, want) {
  report.run("requests and limits per container as canonical strings", (p) => {
    for (const svc of want.services) {
      const container = mainContainer(find(objects, "StatefulSet", svc), svc);
      if (!container) {
        p.push(`no container ${svc}`);
        continue;
      }
      for (const kind of ["requests", "limits"]) {
        for (const key of ["cpu", "memory"]) {
          const actual = container.resources?.[kind]?.[key];
          const expected = want.service[svc][kind][key];
          if (actual !== expected) {
            p.push(`${svc} ${kind}.${key} is '${actual}', expected '${expected}'`);
          }
        }
      }
    }
    const job = ofKind(objects, "Job")[0];
    const container = job?.spec?.template?.spec?.containers?.[0];
    for (const kind of ["requests", "limits"]) {
      for (const key of ["cpu", "memory"]) {
        const actual = container?.resources?.[kind]?.[key];
        const given = want.provisioning[kind]?.[key];
        if (actual === undefined) p.push(`the Job has no ${kind}.${key}`);
        if (given !== undefined && actual !== canonicalQuantity(given)) {
          p.push(`Job ${kind}.${key} is '${actual}', expected '${canonicalQuantity(given)}'`);
        }
      }
    }
  });
}

function checkStorage(report, objects, baseObjects, want) {
  const title = "storage size, access modes, labels and storage class of every claim template";
  report.run(title, (p) => {
    for (const svc of want.services) {
      const sts = find(objects, "StatefulSet", svc);
      const claims = sts?.spec?.volumeClaimTemplates ?? [];
      const baseClaims = find(baseObjects, "StatefulSet", svc)?.spec?.volumeClaimTemplates ?? [];
      if (claims.length !== 1) {
        p.push(`${svc}: ${claims.length} volume claim templates, expected 1`);
        if (claims.length === 0) continue;
      }
      const claim = claims[0];
      const size = claim.spec?.resources?.requests?.storage;
      if (size !== want.service[svc].storage) {
        p.push(`${svc}: storage '${size}', expected '${want.service[svc].storage}'`);
      }
      if (JSON.stringify(claim.spec?.accessModes) !== JSON.stringify(["ReadWriteOnce"])) {
        p.push(`${svc}: accessModes ${JSON.stringify(claim.spec?.accessModes)}`);
      }
      if (claim.spec?.storageClassName !== want.storageClass) {
        p.push(`${svc}: storageClassName '${claim.spec?.storageClassName}', expected ` +
          `'${want.storageClass}'`);
      }
      const base = baseClaims[0];
      if (!base) {
        p.push(`${svc}: the base has no claim template to compare with`);
        continue;
      }
      if (claim.metadata?.name !== base.metadata?.name) {
        p.push(`${svc}: claim template '${claim.metadata?.name}', base '${base.metadata?.name}'`);
      }
      for (const [key, value] of Object.entries(base.metadata?.labels ?? {})) {
        if (claim.metadata?.labels?.[key] !== value) p.push(`${svc}: claim lost label ${key}`);
      }
      if (Object.keys(base.metadata?.labels ?? {}).length === 0) {
        p.push(`${svc}: the base claim template has no labels to keep`);
      }
    }
  });
}

function checkSettings(report, objects, want) {
  const variablesOf = (svc, p) => {
    const container = mainContainer(find(objects, "StatefulSet", svc), svc);
    if (!container) {
      p.push(`no container ${svc}`);
      return {};
    }
    return containerVariables(container, objects, svc, p);
  };
  const expectVariable = (p, svc, variables, name, value) => {
    if (variables[name] !== value) {
      p.push(`${svc}: ${name} is '${variables[name] ?? "(unset)"}', expected '${value}'`);
    }
  };

  report.run("AHA's DNS name follows namespace and cluster domain; the AHA network", (p) => {
    const aha = variablesOf("aha", p);
    expectVariable(p, "aha", aha, "SYN_AHA_DNS_NAME",
      `aha.${want.namespace}.svc.${want.clusterDomain}`);
    expectVariable(p, "aha", aha, "SYN_AHA_AHA_NETWORK", want.network);
  });

  report.run("config options as SYN_<SERVICE>_<OPTION> strings", (p) => {
    for (const svc of want.services) {
      const variables = variablesOf(svc, p);
      for (const [name, value] of Object.entries(want.service[svc].config)) {
        expectVariable(p, svc, variables, name, value);
      }
    }
  });

  if (want.opticOn) {
    report.run("Optic's netloc in SYN_OPTIC_NETLOC", (p) => {
      expectVariable(p, "optic", variablesOf("optic", p), "SYN_OPTIC_NETLOC", want.netloc);
    });
  } else {
    report.run("Optic is off: no Optic object at all", (p) => {
      for (const o of objects) {
        if ((o.metadata?.name ?? "").includes("optic")) p.push(`${describe(o)} is in the render`);
      }
    });
  }

  report.run("the provisioning settings reach the Job", (p) => {
    const job = ofKind(objects, "Job")[0];
    if (!job) {
      p.push("no Job");
      return;
    }
    const variables = containerVariables(job.spec.template.spec.containers[0], objects, "Job", p);
    const given = want.provisioning;
    if (given.retries !== undefined && job.spec.backoffLimit !== given.retries) {
      p.push(`backoffLimit ${job.spec.backoffLimit}, expected ${given.retries}`);
    }
    if (job.spec.backoffLimit === undefined || job.spec.backoffLimit < 1) {
      p.push("the Job does not retry (backoffLimit)");
    }
    if (given.timeout !== undefined && variables.AHA_WAIT_SECONDS !== String(given.timeout)) {
      p.push(`AHA_WAIT_SECONDS '${variables.AHA_WAIT_SECONDS}', expected '${given.timeout}'`);
    }
  });
}

function checkEnvironmentLabel(report, objects, want) {
  const title = `every object and pod template is labelled with the environment '${want.name}'`;
  report.run(title, (p) => {
    const labelled = (meta) => Object.values(meta?.labels ?? {}).includes(want.name);
    for (const o of objects) {
      if (!labelled(o.metadata)) p.push(describe(o));
    }
    for (const { owner, meta } of podTemplates(objects)) {
      if (!labelled(meta?.metadata)) p.push(`${describe(owner)} pod template`);
    }
  });
}

function checkIngress(report, objects, want) {
  const ingresses = ofKind(objects, "Ingress");
  if (!want.ingress) {
    report.run("no Ingress (none declared)", (p) => {
      for (const o of ingresses) p.push(`${describe(o)} is in the render`);
    });
    return;
  }
  const host = want.netloc.replace(/:\d+$/, "");
  report.run(`the Ingress routes ${host} to Service optic port 4443`, (p) => {
    if (ingresses.length !== 1) {
      p.push(`expected one Ingress, found ${ingresses.length}`);
      if (ingresses.length === 0) return;
    }
    const ingress = ingresses[0];
    const service = find(objects, "Service", "optic");
    const ports = service?.spec?.ports ?? [];
    if (!ports.some((port) => port.port === 4443)) p.push("Service optic has no port 4443");
    const rules = ingress.spec?.rules ?? [];
    if (rules.length === 0) p.push("the Ingress has no rule");
    for (const rule of rules) {
      if (rule.host !== host) p.push(`rule host '${rule.host}', expected '${host}'`);
      const paths = rule.http?.paths ?? [];
      if (paths.length === 0) p.push("a rule has no path");
      for (const path of paths) {
        const backend = path.backend?.service;
        const port = backend?.port?.number ??
          ports.find((candidate) => candidate.name === backend?.port?.name)?.port;
        if (backend?.name !== "optic" || port !== 4443) {
          p.push(`path ${path.path} goes to ${backend?.name}:${port}, expected optic:4443`);
        }
      }
    }
  });

  report.run("the Ingress has the declared class and TLS secret", (p) => {
    const ingress = ingresses[0];
    if (!ingress) {
      p.push("no Ingress");
      return;
    }
    if (want.ingress.class !== undefined && ingress.spec?.ingressClassName !== want.ingress.class) {
      p.push(`ingressClassName '${ingress.spec?.ingressClassName}', ` +
        `expected '${want.ingress.class}'`);
    }
    const tls = ingress.spec?.tls ?? [];
    const secret = want.ingress.tls_secret;
    if (secret !== undefined) {
      const entry = tls.find((t) => t.secretName === secret);
      if (!entry) p.push(`no TLS entry with secret '${secret}'`);
      else if (!(entry.hosts ?? []).includes(host)) p.push(`TLS secret ${secret} not for ${host}`);
    } else if (tls.some((t) => t.secretName)) {
      p.push(`TLS secrets that the environment does not declare: ${JSON.stringify(tls)}`);
    }
  });
}

// clusters/<name>/: the engine's own manifests, pointing at overlays/<name>.
function checkClusters(report, objects, clustersDir, want) {
  report.run("the overlay render holds no engine object (Application, GitRepository, ...)", (p) => {
    for (const o of objects) {
      if (/(argoproj\.io|fluxcd\.io)\//.test(o.apiVersion)) p.push(describe(o));
    }
  });
  const files = clustersDir && existsSync(clustersDir) ?
    readdirSync(clustersDir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
  const engine = want.gitops?.engine;
  if (!engine) {
    report.run("no clusters/<name>/ manifests without a [gitops] table", (p) => {
      for (const file of files) p.push(`${clustersDir}/${file}`);
    });
    return;
  }
  const manifests = files.flatMap((file) => loadObjects(join(clustersDir, file)));
  const overlayPath = [want.gitops.path, `overlays/${want.name}`].filter(Boolean).join("/");
  const samePath = (path) => (path ?? "").replace(/^\.\//, "").replace(/\/$/, "") === overlayPath;

  if (engine === "argocd") {
    report.run(`an Argo CD Application for ${overlayPath}`, (p) => {
      const apps = ofKind(manifests, "Application");
      if (apps.length !== 1 || manifests.length !== 1) {
        p.push(`expected one Application, found: ${manifests.map(describe).join(", ")}`);
      }
      for (const app of apps) {
        const source = app.spec?.source ?? {};
        if (!samePath(source.path)) p.push(`source.path '${source.path}'`);
        if (source.repoURL !== want.gitops.repo_url) p.push(`source.repoURL '${source.repoURL}'`);
        if (want.gitops.revision !== undefined && source.targetRevision !== want.gitops.revision) {
          p.push(`source.targetRevision '${source.targetRevision}'`);
        }
        if (app.spec?.destination?.namespace !== want.namespace) {
          p.push(`destination.namespace '${app.spec?.destination?.namespace}'`);
        }
        const home = want.gitops.argocd_namespace;
        if (home !== undefined && app.metadata?.namespace !== home) {
          p.push(`metadata.namespace '${app.metadata?.namespace}', expected '${home}'`);
        }
        if (want.gitops.project !== undefined && app.spec?.project !== want.gitops.project) {
          p.push(`project '${app.spec?.project}'`);
        }
      }
    });
  } else if (engine === "flux") {
    report.run(`a Flux GitRepository and Kustomization for ${overlayPath}`, (p) => {
      const sources = ofKind(manifests, "GitRepository");
      const kustomizations = ofKind(manifests, "Kustomization");
      if (sources.length !== 1 || kustomizations.length !== 1 || manifests.length !== 2) {
        p.push(`expected a GitRepository and a Kustomization, found: ${manifests.map(describe)}`);
      }
      const source = sources[0];
      const kustomization = kustomizations[0];
      if (!source || !kustomization) return;
      if (source.spec?.url !== want.gitops.repo_url) {
        p.push(`GitRepository url '${source.spec?.url}'`);
      }
      const ref = source.spec?.ref ?? {};
      if (want.gitops.revision !== undefined &&
          ![ref.branch, ref.tag, ref.name, ref.commit].includes(want.gitops.revision)) {
        p.push(`GitRepository ref ${JSON.stringify(ref)}, expected ${want.gitops.revision}`);
      }
      if (!samePath(kustomization.spec?.path)) {
        p.push(`Kustomization path '${kustomization.spec?.path}'`);
      }
      const sourceRef = kustomization.spec?.sourceRef ?? {};
      const sourceNamespace = sourceRef.namespace ?? kustomization.metadata?.namespace;
      if (sourceRef.kind !== "GitRepository" || sourceRef.name !== source.metadata?.name ||
          sourceNamespace !== source.metadata?.namespace) {
        p.push(`sourceRef ${JSON.stringify(sourceRef)} does not name ${describe(source)}`);
      }
      if (kustomization.spec?.targetNamespace !== undefined &&
          kustomization.spec.targetNamespace !== want.namespace) {
        p.push(`targetNamespace '${kustomization.spec.targetNamespace}'`);
      }
    });
  } else {
    report.check(`a known gitops engine ('${engine}')`, [`unknown engine '${engine}'`]);
  }
}

// ---------------------------------------------------------------------------------------

// Quantities whose canonical form the API server is known to store, so that a mistake in
// canonicalQuantity cannot hide one of the tool's.
const kKnownQuantities = {
  "1.5Gi": "1536Mi", "0.5Gi": "512Mi", "1024Mi": "1Gi", "4096Mi": "4Gi", "1000Mi": "1000Mi",
  "1.5Ti": "1536Gi", "0.5Ki": "512", "1Ki": "1Ki", "0.5": "500m", "1.5": "1500m",
  "1000m": "1", "250m": "250m", "1000": "1k", "1500M": "1500M", "1e3": "1e3", "0.1m": "100u",
  "0.1n": "1n", "0": "0", "1GB": null, "1g": null, "1 Gi": null, "Gi": null,
};

function selfTest(report) {
  report.run("canonicalQuantity agrees with the API server on known quantities", (p) => {
    for (const [text, expected] of Object.entries(kKnownQuantities)) {
      const actual = canonicalQuantity(text);
      if (actual !== expected) p.push(`'${text}' -> ${actual}, expected ${expected}`);
    }
  });
  return report.exitCode();
}

function main() {
  const options = parseArguments(process.argv.slice(2));
  const report = new Report(options.label ?? "");
  if (options["self-test"]) return selfTest(report);

  if (options["base-only"]) {
    const path = options["base-only"];
    let objects;
    try {
      objects = loadObjects(path);
    } catch (error) {
      report.check("the base render is YAML", [String(error.message)]);
      return report.exitCode();
    }
    checkPolicies(report, objects, textOf(path), "synapse", kSynapseServices);
    return report.exitCode();
  }

  const given = (key) => typeof options[key] === "string";
  if (!given("render") || !given("base") || !(given("env") || given("env-json"))) {
    console.error("usage: check-render.mjs --env ENV.toml|--env-json ENV.json --render R.yaml " +
      "--base B.yaml [--clusters DIR] [--label NAME]");
    return 2;
  }
  let objects;
  let baseObjects;
  let file;
  try {
    objects = loadObjects(options.render);
    baseObjects = loadObjects(options.base);
    file = typeof options["env-json"] === "string" ?
      JSON.parse(readFileSync(options["env-json"], "utf8")) : loadEnvironment(options.env);
  } catch (error) {
    report.check("the render, the base render and the environment file can be read",
      [String(error.message)]);
    return report.exitCode();
  }
  const { expected: want, problems } = expectedEnvironment(file);
  report.check("the environment file's quantities are quantities", problems);

  checkPolicies(report, objects, textOf(options.render), want.namespace, want.services);
  checkEnvironmentLabel(report, objects, want);
  checkImages(report, objects, want);
  checkResources(report, objects, want);
  checkStorage(report, objects, baseObjects, want);
  checkSettings(report, objects, want);
  checkIngress(report, objects, want);
  checkClusters(report, objects, options.clusters, want);
  return report.exitCode();
}

function textOf(path) {
  return readFileSync(path, "utf8");
}

process.exitCode = main();
