// kubectl's -o jsonpath templates, for the forms scripts/deploy.sh and scripts/kn-deploy.sh use:
// {.a.b}, {.a[*].b}, {.a[0]}, escaped dots in keys (app\.kubernetes\.io/version), {range X}...{end},
// and quoted text ({"\n"}). As kubernetes/client-go util/jsonpath prints them: several results of
// one expression joined by a space, a missing field as nothing, a map or list as JSON. Anything
// else throws, so a template this does not model fails the test instead of passing silently.

/** @param {string} text @returns {Array<{text?: string, path?: string, range?: string, end?: true}>} */
function parse(text) {
  const parts = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("{", i);
    if (open === -1) {
      parts.push({ text: text.slice(i) });
      break;
    }
    if (open > i) parts.push({ text: text.slice(i, open) });
    const close = text.indexOf("}", open);
    if (close === -1) throw new Error(`unclosed { in ${text}`);
    const inner = text.slice(open + 1, close).trim();
    if (inner.startsWith('"')) parts.push({ text: JSON.parse(inner) });
    else if (inner === "end") parts.push({ end: true });
    else if (inner.startsWith("range ")) parts.push({ range: inner.slice(6).trim() });
    else if (inner.startsWith(".") || inner === "@") parts.push({ path: inner });
    else throw new Error(`this model of kubectl's jsonpath does not read {${inner}}`);
    i = close + 1;
  }
  return parts;
}

/** The values a path selects from `value`, in order. */
function select(value, path) {
  if (path === "@" || path === ".") return [value];
  const steps = [];
  const re = /\.((?:\\\.|[^.[\]])+)|\[(\*|\d+)\]/gy;
  let at = 0;
  re.lastIndex = 0;
  while (at < path.length) {
    const match = re.exec(path);
    if (match === null) break;
    steps.push(
      match[1] !== undefined ? { key: match[1].replaceAll("\\.", ".") } : { index: match[2] },
    );
    at = re.lastIndex;
  }
  if (at !== path.length) throw new Error(`this model of kubectl's jsonpath does not read ${path}`);
  let current = [value];
  for (const step of steps) {
    const next = [];
    for (const item of current) {
      if (item === null || item === undefined) continue;
      if (step.key !== undefined) {
        if (typeof item === "object" && !Array.isArray(item) && step.key in item)
          next.push(item[step.key]);
      } else if (Array.isArray(item)) {
        if (step.index === "*") next.push(...item);
        else if (Number(step.index) < item.length) next.push(item[Number(step.index)]);
      }
    }
    current = next;
  }
  return current;
}

const show = (value) =>
  typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);

/** kubectl get -o jsonpath=TEMPLATE, printed for `value`. */
export function jsonpath(template, value) {
  const parts = parse(template);
  const run = (from, to, scope) => {
    let out = "";
    for (let i = from; i < to; i++) {
      const part = parts[i];
      if (part.text !== undefined) out += part.text;
      else if (part.path !== undefined) out += select(scope, part.path).map(show).join(" ");
      else if (part.range !== undefined) {
        let depth = 1;
        let end = i + 1;
        for (; end < to; end++) {
          if (parts[end].range !== undefined) depth++;
          if (parts[end].end && --depth === 0) break;
        }
        if (depth !== 0) throw new Error(`{range} without {end} in ${template}`);
        for (const item of select(scope, part.range)) out += run(i + 1, end, item);
        i = end;
      } else throw new Error(`{end} without {range} in ${template}`);
    }
    return out;
  };
  return run(0, parts.length, value);
}
