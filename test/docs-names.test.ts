import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ATTEMPT_OUTCOMES } from "../functions/antaeus/domain/attempt.js";
import { RUN_STATUSES } from "../functions/antaeus/domain/run.js";
import { INVOICE_STATUSES, OUTCOMES } from "../functions/antaeus/domain/status.js";
import { CHARGE_STATUSES } from "../functions/payment/domain/charge.js";
import { inProcessAntaeus, inProcessPayment } from "./support/in-process.js";

// What a reader of the docs acts on: a status they filter by, a route they call, a file they
// open. Each must exist, and each status and route the code declares must be in the docs, so a
// new one cannot ship unexplained.

const ROOT = resolve(import.meta.dirname, "..");
const DOCS = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
  "test/README.md",
];
const text = new Map(DOCS.map((doc) => [doc, readFileSync(join(ROOT, doc), "utf8")]));
const allDocs = [...text.values()].join("\n");

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

describe("statuses", () => {
  /**
   * The lists a reader takes as complete: a table whose first column is `status` (an invoice's,
   * not HTTP's), a sentence opening with "Statuses:", and a run's `"counts": {…}`.
   */
  function statusLists(): Array<{ where: string; names: string[]; of: readonly string[] }> {
    const lists: Array<{ where: string; names: string[]; of: readonly string[] }> = [];
    for (const [doc, body] of text) {
      const lines = body.split("\n");
      lines.forEach((line, index) => {
        if (/^\| status \|/i.test(line) && /^\| [A-Z_]+ \|/.test(lines[index + 2] ?? "")) {
          const rows = [];
          for (let row = index + 2; lines[row]?.startsWith("|"); row++) rows.push(lines[row]!);
          lists.push({
            where: `${doc}:${index + 1} (table)`,
            names: rows.map((row) => row.split("|")[1]!.replace(/`/g, "").trim()),
            of: INVOICE_STATUSES,
          });
        }
      });
      for (const match of body.matchAll(/^Statuses: ([^;.]*)/gm)) {
        lists.push({
          where: `${doc} ("Statuses:")`,
          names: [...match[1]!.matchAll(/`([A-Z_]+)`/g)].map((name) => name[1]!),
          of: INVOICE_STATUSES,
        });
      }
      for (const match of body.matchAll(/"counts": \{([^}]*)\}/g)) {
        lists.push({
          where: `${doc} ("counts")`,
          names: [...match[1]!.matchAll(/"([A-Z_]+)"/g)].map((name) => name[1]!),
          of: OUTCOMES,
        });
      }
    }
    return lists;
  }

  it("every list of them in the docs names exactly the ones the code declares", () => {
    const lists = statusLists();
    expect(lists.length).toBeGreaterThanOrEqual(3);
    for (const list of lists) expect(sorted(list.names), list.where).toEqual(sorted(list.of));
  });

  it("every status the docs quote exists (`status = 'X'`, `?status=X`, `outcome=\"X\"`)", () => {
    const known = new Set<string>([...ATTEMPT_OUTCOMES, ...INVOICE_STATUSES, ...RUN_STATUSES]);
    const quoted = [
      ...allDocs.matchAll(/\b(?:status|outcome)\b["`]?\s*(?:=|:|is)\s*["'`]*([A-Z][A-Z_]+)\b/g),
    ].map((match) => match[1]!);
    expect(quoted.length).toBeGreaterThan(0);
    expect(quoted.filter((name) => !known.has(name))).toEqual([]);
  });

  it("every status the code declares is named in the docs", () => {
    const uppercase = new Set(allDocs.match(/\b[A-Z][A-Z_]+\b/g));
    const declared = [...INVOICE_STATUSES, ...ATTEMPT_OUTCOMES, ...RUN_STATUSES];
    expect(declared.filter((status) => !uppercase.has(status))).toEqual([]);
    const contract = text.get("docs/payment-contract.md")!;
    expect(CHARGE_STATUSES.filter((status) => !contract.includes(`"${status}"`))).toEqual([]);
  });
});

describe("routes", () => {
  const declared = new Set<string>();
  const closes: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    const apps = [
      await inProcessAntaeus({ SEED_ENABLED: "false" }),
      await inProcessPayment({ PAYMENT_AUTH: "off" }),
    ];
    for (const { app, close } of apps) {
      closes.push(close);
      // "ALL": middleware and the 405 answers of declared paths, not routes of their own.
      for (const route of app.routes) {
        if (route.method !== "ALL") declared.add(`${route.method} ${route.path}`);
      }
    }
  });
  afterAll(async () => {
    for (const close of closes) await close();
  });

  /** `GET /rest/v1/customers[/:id]?x=1` → the routes it names, without the query. */
  function namedRoutes(): string[] {
    return [...allDocs.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) (\/[^\s`|,)"'?]*)/g)].flatMap(
      ([, method, path]) => {
        const optional = /^(.*)\[(\/[^\]]+)\](.*)$/.exec(path!);
        const paths = optional
          ? [optional[1]! + optional[3]!, optional[1]! + optional[2]! + optional[3]!]
          : [path!];
        return paths.map((each) => `${method} ${each.replace(/(.)\/$/, "$1")}`);
      },
    );
  }

  it("every route the docs name is declared by Antaeus or payment", () => {
    const named = namedRoutes();
    expect(named.length).toBeGreaterThan(10);
    expect(sorted(named.filter((route) => !declared.has(route)))).toEqual([]);
  });

  it("every route Antaeus and payment declare is named in the docs", () => {
    expect(declared.size).toBeGreaterThan(10);
    const named = new Set(namedRoutes());
    expect(sorted([...declared].filter((route) => !named.has(route)))).toEqual([]);
  });
});

describe("folders and files", () => {
  // What git ignores is made by a command (dist/, screenshots): named, but never in a clone.
  const ignored = readFileSync(join(ROOT, ".gitignore"), "utf8")
    .split("\n")
    .filter((line) => line.endsWith("/"))
    .concat([".git/"]);
  const isIgnored = (path: string) => ignored.some((folder) => `${path}/`.startsWith(folder));
  const files = readdirSync(ROOT, { recursive: true, encoding: "utf8" }).filter(
    (path) => !isIgnored(path),
  );
  /** Every folder name of ours: a path whose first part is none of these is someone else's. */
  const folderNames = new Set(
    files.flatMap((path) => path.split("/").slice(0, -1)).concat([".ci"]),
  );
  const basenames = new Set(files.map((path) => path.split("/").at(-1)!));

  /**
   * Where a doc's relative name may start: the root, the doc's folder, test/ (test/README.md
   * names suites as `billing/trigger`), knative/, and each function.
   */
  const bases = (doc: string) => [
    "",
    doc.includes("/") ? `${doc.slice(0, doc.lastIndexOf("/"))}/` : "",
    "test/",
    "knative/",
    "functions/",
    "functions/antaeus/",
    "functions/payment/",
    "functions/runtime/",
  ];
  const pattern = (path: string) =>
    new RegExp(
      `^${path
        .replace(/[.+^$()|\\]/g, "\\$&")
        .replace(/\*\*\//g, "(.+/)?")
        .replace(/\*/g, "[^/]+")
        .replace(/<[^>]+>/g, "[^/]+")}$`,
    );
  const exists = (path: string) => {
    if (!/[*<]/.test(path)) return existsSync(join(ROOT, path));
    const wanted = pattern(path.replace(/\/$/, ""));
    return files.some((file) => wanted.test(file));
  };
  const found = (doc: string, name: string) =>
    bases(doc).some((base) =>
      ["", ".ts", ".test.ts"].some((suffix) => exists(`${base}${name}${suffix}`)),
    );

  /** Backticked paths whose first folder is one of ours, and bare file names of our kinds. */
  function namedPaths(doc: string): string[] {
    return [...text.get(doc)!.matchAll(/`([^`\s]+)`/g)]
      .map((match) => match[1]!)
      .filter(
        (name) =>
          !name.includes("=") &&
          ((name.includes("/") && folderNames.has(name.split("/")[0]!)) ||
            /^[\w.-]+\.(ts|tsx|mjs|md|yaml|json|sh)$/.test(name)),
      );
  }

  it("every folder and file the docs name exists", () => {
    const missing = DOCS.flatMap((doc) =>
      namedPaths(doc)
        .filter((name) => !isIgnored(name))
        .filter((name) => (name.includes("/") ? !found(doc, name) : !basenames.has(name)))
        .map((name) => `${doc}: ${name}`),
    );
    expect(DOCS.flatMap(namedPaths).length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  // README's map of the house: a row for a folder names what lives in it (or the folders beside
  // it that it points at), so each file or folder the row names is found there, not merely
  // somewhere.
  it("each row of the map of the house names what is in its folder", () => {
    const rows = [...text.get("README.md")!.matchAll(/^\| `([\w/.-]+\/)` \|(.*)$/gm)];
    expect(rows.length).toBeGreaterThan(5);
    const misplaced = rows.flatMap(([, folder, rest]) =>
      namedPaths("README.md")
        .filter((name) => rest!.includes(`\`${name}\``))
        .filter((name) => {
          const parent = folder!.replace(/[^/]+\/$/, "");
          const path = name.replace(/\/$/, "");
          return !(
            exists(name) ||
            exists(`${parent}${path}`) ||
            files.some((file) => file.startsWith(folder!) && file.endsWith(`/${path}`))
          );
        })
        .map((name) => `${folder}: ${name}`),
    );
    expect(misplaced).toEqual([]);
  });
});
