// The shipped monitoring files, read once for the tests: the PrometheusRule's rules, the Grafana dashboard
// and every `aibrix:*` family their queries use.
import { readFileSync } from "node:fs";
import { parseYamlDocuments } from "./yaml.ts";

type Obj = Record<string, any>;
export const RULE_FILE = "deploy/components/monitoring/prometheusrule.yaml";
export const DASHBOARD_FILE = "deploy/components/monitoring/airuntime-dashboard.json";

export const prometheusRule = parseYamlDocuments(readFileSync(RULE_FILE, "utf8"))[0] as Obj;
export const alertRules: Obj[] = (prometheusRule.spec.groups as Obj[]).flatMap((g) => g.rules as Obj[]);
export const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as Obj;
export const dashboardExprs: string[] = (dashboard.panels as Obj[]).flatMap((p) =>
  (p.targets as Obj[]).map((t) => t.expr as string),
);

/** The `aibrix:*` families a PromQL text uses (histogram _bucket/_sum/_count folded into the family). */
export function aibrixFamilies(exprs: readonly string[]): string[] {
  const names = new Set<string>();
  for (const e of exprs)
    for (const m of e.matchAll(/aibrix:[a-zA-Z0-9_:]+/g)) names.add(m[0].replace(/_(bucket|sum|count)$/, ""));
  return [...names].sort();
}

/** Every family the dashboard and the alert rules query. */
export const queriedFamilies = aibrixFamilies([...dashboardExprs, ...alertRules.map((r) => String(r.expr))]);
