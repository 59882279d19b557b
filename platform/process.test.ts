import { expect, test } from "bun:test";
import { cpuBudget, quotaCores } from "./process.ts";

test("cgroup CPU quotas read as cores (v2 cpu.max and v1 quota/period)", () => {
  expect(quotaCores("200000 100000\n")).toBe(2);
  expect(quotaCores("50000 100000")).toBe(0.5);
  expect(quotaCores("max 100000")).toBeNull(); // v2 unlimited
  expect(quotaCores("-1\n 100000\n")).toBeNull(); // v1 unlimited
  expect(quotaCores("null null")).toBeNull(); // files missing
  expect(cpuBudget()).toBeGreaterThan(0);
});
