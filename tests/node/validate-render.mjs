// Validates every object of rendered manifests against the published schemas: Kubernetes
// kinds with kubernetes-models, Argo CD kinds with @kubernetes-models/argo-cd and Flux kinds
// with @kubernetes-models/flux-cd. Each object is built as its model class (found from its
// apiVersion and kind) and validated; an object with no model is a failure too.
//
//   node validate-render.mjs [--label NAME] FILE.yaml...
//
// Prints "ok - ..." per file whose objects are all valid, "not ok - ..." per invalid
// object; exit status 1 when anything failed.

import { basename } from "node:path";
import { Report, describe, loadObjects, parseArguments } from "./render-lib.mjs";

// The module that holds the models of an apiVersion ("apps/v1", "v1", "argoproj.io/v1alpha1").
function modelModule(apiVersion) {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return `kubernetes-models/${apiVersion}`;
  const group = apiVersion.slice(0, slash);
  if (group === "argoproj.io") return `@kubernetes-models/argo-cd/${apiVersion}`;
  if (group.endsWith(".toolkit.fluxcd.io")) return `@kubernetes-models/flux-cd/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

async function modelClass(apiVersion, kind) {
  let module;
  try {
    module = await import(modelModule(apiVersion));
  } catch {
    return undefined;
  }
  const model = module[kind];
  return typeof model === "function" && typeof model.prototype?.validate === "function"
    ? model
    : undefined;
}

// The problems of one object: none when its model accepts it.
async function validateObject(object) {
  if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
    return ["no apiVersion or kind"];
  }
  const Model = await modelClass(object.apiVersion, object.kind);
  if (!Model) return [`no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [String(error.message ?? error)];
  }
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const report = new Report(options.label ?? "");
  if (options._.length === 0) {
    console.error("usage: validate-render.mjs [--label NAME] FILE.yaml...");
    return 2;
  }
  for (const file of options._) {
    let objects;
    try {
      objects = loadObjects(file);
    } catch (error) {
      report.check(`${basename(file)} is YAML`, [String(error.message)]);
      continue;
    }
    const failures = [];
    const kinds = new Set();
    for (const object of objects) {
      kinds.add(object.apiVersion?.includes("/") ? object.apiVersion.split("/")[0] : "core");
      const problems = await validateObject(object);
      if (problems.length > 0) failures.push([describe(object), problems]);
    }
    for (const [what, problems] of failures) {
      report.check(`${basename(file)}: ${what} validates against its schema`, problems);
    }
    if (objects.length === 0) {
      report.check(`${basename(file)} holds objects`, ["no object in the file"]);
    } else if (failures.length === 0) {
      report.check(`${basename(file)}: all ${objects.length} objects validate (${[...kinds]
        .sort().join(", ")})`, []);
    }
  }
  return report.exitCode();
}

process.exitCode = await main();
