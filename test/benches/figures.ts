import { stripVTControlCharacters } from "node:util";

/**
 * What is wrong with a bench's printed figures, one sentence each; none means they are whole:
 * at least one number, no value JavaScript prints for a broken computation (NaN, Infinity,
 * undefined, null), and every Markdown table row as wide as its header with no empty cell.
 */
export function figureProblems(output: string): string[] {
  const text = stripVTControlCharacters(output);
  const problems: string[] = [];
  if (!/\d/.test(text)) problems.push("no figure printed");
  for (const line of text.split("\n")) {
    const broken = /\b(NaN|Infinity|undefined|null)\b/.exec(line);
    if (broken) problems.push(`${broken[1]} in: ${line.trim()}`);
  }
  let columns = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("|")) {
      columns = 0;
      continue;
    }
    const cells = line.split("|").slice(1, -1);
    if (columns === 0) columns = cells.length;
    else if (cells.length !== columns)
      problems.push(`${cells.length} of ${columns} columns: ${line}`);
    if (cells.some((cell) => cell.trim() === "")) problems.push(`an empty cell: ${line}`);
  }
  return problems;
}
