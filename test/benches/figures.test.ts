import { describe, expect, it } from "vitest";
import { figureProblems } from "./figures.js";

describe("a bench's printed figures", () => {
  it("are whole when every row is filled with numbers", () => {
    expect(
      figureProblems(
        [
          "Node v20.20.2, 1 rounds, load average 0.4",
          "| contender | cold start | × floor |",
          "|---|---|---|",
          "| floor | 62 ms | 1.00× |",
          "| payment | 154 ms | 2.50× |",
          "latency   0 ms | 50 invoices in 0.21 s | 243 invoices/s",
        ].join("\n"),
      ),
    ).toEqual([]);
  });

  it("are broken when nothing is printed, or a computation printed NaN, Infinity or undefined", () => {
    expect(figureProblems("")).toEqual(["no figure printed"]);
    expect(figureProblems("50 invoices in NaN s")).toEqual(["NaN in: 50 invoices in NaN s"]);
    expect(figureProblems("\x1b[32m243 invoices/s (goal Infinity)\x1b[39m")).toEqual([
      "Infinity in: 243 invoices/s (goal Infinity)",
    ]);
    expect(figureProblems("p99 undefined ms, 3 runs")).toHaveLength(1);
  });

  it("are broken when a table row lost a cell", () => {
    const table = ["| contender | cold start | × floor |", "|---|---|---|"];
    expect(figureProblems([...table, "| floor | 62 ms |  |"].join("\n"))).toEqual([
      "an empty cell: | floor | 62 ms |  |",
    ]);
    expect(figureProblems([...table, "| floor | 62 ms |"].join("\n"))).toEqual([
      "2 of 3 columns: | floor | 62 ms |",
    ]);
  });
});
