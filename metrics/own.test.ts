import { describe, expect, test } from "bun:test";
import { checkMetrics, promtool } from "../tests/helpers/promtool.ts";
import { createOwnMetrics, ownMetrics } from "./own.ts";
import { OPENMETRICS_EOF } from "./render.ts";

describe("own metrics registry", () => {
  test("a throwing gauge collector: /metrics still renders, the failure is logged once with its cause", () => {
    const m = createOwnMetrics();
    const warnings: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    m.setLogger({ warn: (msg, fields) => warnings.push({ msg, fields }) });
    let broken = true;
    m.gauge({
      name: "aibrix:flaky",
      help: "x",
      collect: () => {
        if (broken) throw new Error("disk gone", { cause: new Error("EIO") });
        return 1;
      },
    });
    m.gauge({ name: "aibrix:fine", help: "y", collect: () => 2 });
    for (let i = 0; i < 3; i++)
      expect(m.render()).toBe("# HELP aibrix:fine y\n# TYPE aibrix:fine gauge\naibrix:fine 2\n");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields!.metric).toBe("aibrix:flaky");
    const err = warnings[0]!.fields!.error as Error;
    expect(err.message).toBe("disk gone");
    expect((err.cause as Error).message).toBe("EIO");
    // Recovered, then failing again: logged again (once).
    broken = false;
    expect(m.render()).toContain("aibrix:flaky 1\n");
    broken = true;
    m.render();
    m.render();
    expect(warnings).toHaveLength(2);
  });

  test("counter, gauge, histogram render in text 0.0.4", () => {
    const m = createOwnMetrics();
    const c = m.counter({ name: "aibrix:lora_loads", help: "LoRA loads", labelNames: ["result"] });
    c.inc({ result: "ok" });
    c.inc({ result: "ok" }, 2);
    c.inc({ result: 'bad "x"\n' });
    const g = m.gauge({ name: "aibrix:active_downloads", help: "Active downloads" });
    g.set({}, 3);
    g.dec();
    m.gauge({ name: "aibrix:adapters_loaded", help: "Adapters", collect: () => 7 });
    const h = m.histogram({ name: "aibrix:load_duration_seconds", help: "d", buckets: [0.1, 1] });
    h.observe({}, 0.05);
    h.observe({}, 0.5);
    h.observe({}, 5);
    expect(c.get({ result: "ok" })).toBe(3);
    expect(m.render()).toBe(
      [
        "# HELP aibrix:lora_loads_total LoRA loads",
        "# TYPE aibrix:lora_loads_total counter",
        'aibrix:lora_loads_total{result="ok"} 3',
        'aibrix:lora_loads_total{result="bad \\"x\\"\\n"} 1',
        "# HELP aibrix:active_downloads Active downloads",
        "# TYPE aibrix:active_downloads gauge",
        "aibrix:active_downloads 2",
        "# HELP aibrix:adapters_loaded Adapters",
        "# TYPE aibrix:adapters_loaded gauge",
        "aibrix:adapters_loaded 7",
        "# HELP aibrix:load_duration_seconds d",
        "# TYPE aibrix:load_duration_seconds histogram",
        'aibrix:load_duration_seconds_bucket{le="0.1"} 1',
        'aibrix:load_duration_seconds_bucket{le="1"} 2',
        'aibrix:load_duration_seconds_bucket{le="+Inf"} 3',
        "aibrix:load_duration_seconds_sum 5.55",
        "aibrix:load_duration_seconds_count 3",
        "",
      ].join("\n"),
    );
    const om = m.render("openmetrics");
    expect(om).toContain("# TYPE aibrix:lora_loads counter\naibrix:lora_loads_total{");
  });

  test("same name and shape returns the same metric; a conflicting shape throws", () => {
    const m = createOwnMetrics();
    const a = m.counter({ name: "x_total", help: "x", labelNames: ["a"] });
    expect(m.counter({ name: "x_total", help: "x", labelNames: ["a"] })).toBe(a);
    expect(() => m.gauge({ name: "x_total", help: "x" })).toThrow(/already registered/);
    expect(() => a.inc({ b: "1" })).toThrow(/unknown label 'b'/);
    expect(() => m.gauge({ name: "bad-name", help: "x" })).toThrow(/not a valid/);
  });

  test("the process-wide default is its own registry: a private one's metrics never appear in it", () => {
    const m = createOwnMetrics();
    m.counter({ name: "airuntime_private_probe_total", help: "probe" }).inc();
    expect(m.names()).toEqual(["airuntime_private_probe_total"]);
    expect(ownMetrics).not.toBe(m);
    expect(ownMetrics.names()).not.toContain("airuntime_private_probe_total");
    expect(ownMetrics.render()).not.toContain("airuntime_private_probe");
    // Every family it holds is rendered under its registered name.
    for (const n of ownMetrics.names()) expect(ownMetrics.render()).toContain(`# TYPE ${n} `);
  });

  promtool.test("promtool accepts the rendering", () => {
    const m = createOwnMetrics();
    m.counter({ name: "airuntime_things_total", help: "things", labelNames: ["k"] }).inc({ k: "v" });
    m.histogram({ name: "airuntime_op_seconds", help: "op" }).observe({}, 0.2);
    expect(checkMetrics(m.render())).toEqual({ status: 0, findings: [] });
    // promtool really judged it: the same text with a broken line is rejected.
    expect(checkMetrics(`${m.render()}airuntime_things_total{k="v" 1\n`).status).not.toBe(0);
    expect(m.render("openmetrics") + OPENMETRICS_EOF).toContain("# TYPE airuntime_things counter");
  });
});
