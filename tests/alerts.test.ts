// The shipped alert rules and dashboard: `promtool check rules` and `promtool test rules` (unit tests in
// tests/promtool/alerts.test.yaml) pass, every alert has a runbook section in docs/alerts.md, and every
// dashboard query is valid PromQL (checked by promtool as recording rules) over the `${datasource}` and
// model variables.
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alertRules, dashboard, dashboardExprs, prometheusRule } from "./helpers/monitoring.ts";
import { tool } from "./helpers/tools.ts";

const promtool = tool("promtool");
const dir = mkdtempSync(join(tmpdir(), "airuntime-rules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(promtool.path!, args, { encoding: "utf8", cwd: dir });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

promtool.test("promtool check rules accepts the PrometheusRule's groups", () => {
  writeFileSync(join(dir, "rules.yaml"), JSON.stringify(prometheusRule.spec));
  const r = run(["check", "rules", "rules.yaml"]);
  expect(r.out).toContain(`SUCCESS: ${alertRules.length} rules found`);
  expect(r.status).toBe(0);
});

promtool.test("promtool test rules: every alert fires when it should and not before", () => {
  writeFileSync(join(dir, "rules.yaml"), JSON.stringify(prometheusRule.spec));
  copyFileSync("tests/promtool/alerts.test.yaml", join(dir, "alerts.test.yaml"));
  const r = run(["test", "rules", "alerts.test.yaml"]);
  expect(r.out).toContain("SUCCESS");
  expect(r.status).toBe(0);
  // Every alert has at least one unit test that expects it to fire.
  const tests = readFileSync("tests/promtool/alerts.test.yaml", "utf8");
  for (const a of alertRules) expect(tests).toMatch(new RegExp(`alertname: ${a.alert}\\n\\s+exp_alerts:\\n`));
});

promtool.test("promtool: every dashboard query is valid PromQL", () => {
  const vars = (e: string) =>
    e.replaceAll("$__rate_interval", "5m").replace(/\$(model|namespace|pod)\b/g, ".*");
  const groups = [
    {
      name: "dashboard",
      rules: dashboardExprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: vars(e) })),
    },
  ];
  writeFileSync(join(dir, "dashboard-rules.yaml"), JSON.stringify({ groups }));
  const r = run(["check", "rules", "dashboard-rules.yaml"]);
  expect(r.out).toContain(`SUCCESS: ${dashboardExprs.length} rules found`);
  expect(r.status).toBe(0);
});

test("every alert has a summary, a severity and a runbook section in docs/alerts.md", () => {
  const doc = readFileSync("docs/alerts.md", "utf8");
  const wanted = [
    "EngineDown",
    "MetricsStale",
    "ScrapeErrors",
    "LoraLoadFailures",
    "ModelDownloadFailures",
    "ModelDownloadStalled",
    "KVCacheNearFull",
    "QueueGrowing",
  ];
  expect(alertRules.map((a) => a.alert).sort()).toEqual(wanted.map((w) => `AIRuntime${w}`).sort());
  for (const a of alertRules) {
    expect(a.labels.severity).toMatch(/^(critical|warning)$/);
    expect(a.annotations.summary).toBeTruthy();
    expect(a.annotations.runbook).toBe(`docs/alerts.md#${a.alert.toLowerCase()}`);
    expect(doc).toContain(`\n## ${a.alert}\n`);
  }
});

const DATASOURCE = "$" + "{datasource}";

test("the dashboard is importable: a datasource and a model variable, every query on the datasource variable", () => {
  const vars = dashboard.templating.list as Array<Record<string, any>>;
  expect(vars.find((v) => v.name === "datasource")).toMatchObject({
    type: "datasource",
    query: "prometheus",
  });
  expect(vars.find((v) => v.name === "model")?.query.query).toContain("model_name");
  expect(dashboard.uid).toBeTruthy();
  const ids = new Set<number>();
  for (const p of dashboard.panels as Array<Record<string, any>>) {
    expect(ids.has(p.id)).toBe(false);
    ids.add(p.id);
    expect(p.datasource.uid).toBe(DATASOURCE);
    for (const t of p.targets) expect(t.datasource.uid).toBe(DATASOURCE);
  }
  // Engine families are filtered by the model variable.
  const engineQueries = dashboardExprs.filter((e) =>
    /queue_size|kv_cache|time_to_first|tokens_total/.test(e),
  );
  expect(engineQueries.length).toBeGreaterThan(0);
  for (const e of engineQueries) expect(e).toContain('model_name=~"$model"');
});
