// Shared helpers of the render checks: reading multi-document YAML, reading an environment
// file, Kubernetes quantities in their canonical form, and "ok - " / "not ok - " reporting.
// Used by check-render.mjs and validate-render.mjs; nothing here knows what synoverlay
// generates.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));

// Every object of a multi-document YAML file, in order. A YAML syntax error, or a
// document that is not a mapping, throws: a render that is not YAML is a failure.
export function loadObjects(path) {
  const text = readFileSync(path, "utf8");
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new Error(`${path}: ${doc.errors.map((error) => error.message).join("; ")}`);
    }
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new Error(`${path}: a document is not a mapping`);
    }
    objects.push(value);
  }
  return objects;
}

// The environment file as plain data, read by taplo (a TOML parser that has nothing to do
// with synoverlay's), so the expected values come from the file and not from the tool.
export function loadEnvironment(path) {
  const taplo = join(here, "node_modules", ".bin", "taplo");
  const json = execFileSync(taplo, ["get", "-o", "json", "-f", path], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(json);
}

// "Kind/name" (with the namespace when there is one) for messages.
export function describe(object) {
  const namespace = object?.metadata?.namespace ? `${object.metadata.namespace}/` : "";
  return `${object?.kind ?? "?"}/${namespace}${object?.metadata?.name ?? "?"}`;
}

// ---------------------------------------------------------------------------------------
// Quantities. The API server stores a quantity in a canonical form; a manifest that holds
// another spelling makes Argo CD and Flux report a difference forever.

// sign, digits, then a suffix or an exponent.
const kQuantity = new RegExp("^([+-]?)([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)" +
  "(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$");
const kBinary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
const kDecimal = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const kDecimalSuffix = Object.fromEntries(Object.entries(kDecimal).map(([s, e]) => [e, s]));
const kNano = 10n ** 9n;

// The canonical form of a Kubernetes quantity ("1.5Gi" -> "1536Mi", "0.5" -> "500m",
// "1000m" -> "1"), or null when the text is not a quantity. Values are rounded up to a
// multiple of 1n as the API server does.
export function canonicalQuantity(text) {
  const match = kQuantity.exec(String(text));
  if (!match) return null;
  const [, sign, digits, suffix = "", exponentText] = match;
  const [whole, fraction = ""] = digits.split(".");
  let numerator = BigInt((whole || "0") + fraction);
  let denominator = 10n ** BigInt(fraction.length);
  let format = "decimal";
  if (kBinary.includes(suffix)) {
    numerator *= 1024n ** BigInt(kBinary.indexOf(suffix) + 1);
    format = "binary";
  } else {
    const exponent = exponentText !== undefined ? Number(exponentText) : kDecimal[suffix];
    if (exponentText !== undefined) format = "exponent";
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
  }
  let nanos = (numerator * kNano + denominator - 1n) / denominator;
  if (nanos === 0n) return "0";
  const prefix = sign === "-" ? "-" : "";

  if (format === "binary" && nanos >= 1024n * kNano && nanos % kNano === 0n) {
    let value = nanos / kNano;
    let power = 0;
    while (power < kBinary.length && value % 1024n === 0n) {
      value /= 1024n;
      power += 1;
    }
    return `${prefix}${value}${power === 0 ? "" : kBinary[power - 1]}`;
  }
  let exponent = -9;
  while (exponent < 18 && nanos % 1000n === 0n) {
    nanos /= 1000n;
    exponent += 3;
  }
  if (format === "exponent") return `${prefix}${nanos}${exponent === 0 ? "" : `e${exponent}`}`;
  return `${prefix}${nanos}${kDecimalSuffix[exponent]}`;
}

// ---------------------------------------------------------------------------------------
// Reporting: one line per check, TAP style, with the reasons of a failure below it.

export class Report {
  constructor(label) {
    this.label = label;
    this.passed = 0;
    this.failed = 0;
  }

  // Records a check: it passes when `problems` is empty; each problem is printed.
  check(title, problems) {
    const name = this.label ? `${this.label}: ${title}` : title;
    if (problems.length === 0) {
      this.passed += 1;
      console.log(`ok - ${name}`);
      return true;
    }
    this.failed += 1;
    console.log(`not ok - ${name}`);
    const shown = problems.slice(0, 12);
    for (const problem of shown) console.log(`#   ${problem}`);
    if (problems.length > shown.length) {
      console.log(`#   ... and ${problems.length - shown.length} more`);
    }
    return false;
  }

  // Runs `body(problems)` as one check; an exception inside is a failure, not a crash.
  run(title, body) {
    const problems = [];
    try {
      body(problems);
    } catch (error) {
      problems.push(`the check itself failed: ${error.stack ?? error}`);
    }
    return this.check(title, problems);
  }

  // 0 when every check passed (and there was at least one), else 1.
  exitCode() {
    return this.failed === 0 && this.passed > 0 ? 0 : 1;
  }
}

// Options of the form --name value (repeatable ones collect into arrays) and plain
// arguments after them.
export function parseArguments(argv, repeatable = []) {
  const options = { _: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const argument = argv[i];
    if (!argument.startsWith("--")) {
      options._.push(argument);
      continue;
    }
    const key = argument.slice(2);
    const value = i + 1 < argv.length && !argv[i + 1].startsWith("--") ? argv[++i] : true;
    if (repeatable.includes(key)) (options[key] ??= []).push(value);
    else options[key] = value;
  }
  return options;
}
