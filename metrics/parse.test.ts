import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { createParser, parseExposition } from "./parse.ts";
import { renderFamilies } from "./render.ts";
import type { MetricFamily, Sample } from "./types.ts";

describe("parseExposition", () => {
  test("HELP/TYPE, escapes, labels, timestamps, NaN and ±Inf", () => {
    const text = [
      "# HELP vllm:num_requests_waiting Requests \\\\ waiting\\nsecond line",
      "# TYPE vllm:num_requests_waiting gauge",
      'vllm:num_requests_waiting{model_name="m \\"q\\" \\\\ \\n",engine="0"} 5 1700000000000',
      "# TYPE h histogram",
      'h_bucket{le="0.1"} 1',
      'h_bucket{le="+Inf"} 2',
      "h_sum NaN",
      "h_count 2",
      "# TYPE c_total counter",
      "c_total +Inf",
      "neg -Inf",
      "# TYPE s summary",
      's{quantile="0.5"} 1e-3',
      "s_sum 2",
      "s_count 3",
      "",
    ].join("\n");
    const r = parseExposition(text);
    expect(r.errorCount).toBe(0);
    expect(r.families.map((f) => [f.name, f.type])).toEqual([
      ["vllm:num_requests_waiting", "gauge"],
      ["h", "histogram"],
      ["c_total", "counter"],
      ["neg", "untyped"],
      ["s", "summary"],
    ]);
    const w = r.byName.get("vllm:num_requests_waiting")!;
    expect(w.help).toBe("Requests \\ waiting\nsecond line");
    expect(w.samples[0]).toEqual({
      name: "vllm:num_requests_waiting",
      labels: { model_name: 'm "q" \\ \n', engine: "0" },
      value: 5,
      timestampMs: 1700000000000,
    });
    expect(Number.isNaN(r.byName.get("h")!.samples[2]!.value)).toBe(true);
    expect(r.byName.get("c_total")!.samples[0]!.value).toBe(Number.POSITIVE_INFINITY);
    expect(r.byName.get("neg")!.samples[0]!.value).toBe(Number.NEGATIVE_INFINITY);
    expect(r.byName.get("s")!.samples.length).toBe(3);
  });

  test("real-engine quirks: duplicate HELP, missing TYPE, split families, CRLF, bad lines skipped", () => {
    const text = [
      "# HELP a first",
      "# HELP a second",
      "# TYPE a gauge",
      'a{x="1"} 1',
      "b 2",
      'a{x="2"} 3',
      "tgi_request_count 7\r",
      "this is not a metric",
      'bad{x="unterminated} 1',
      "nov",
      "c{} 4",
      "   \t d 5",
    ].join("\n");
    const r = parseExposition(text);
    expect(r.families.map((f) => f.name)).toEqual(["a", "b", "tgi_request_count", "c", "d"]);
    expect(r.byName.get("a")!.help).toBe("first");
    expect(r.byName.get("a")!.samples.map((s) => s.value)).toEqual([1, 3]);
    expect(r.byName.get("tgi_request_count")!.samples[0]!.value).toBe(7);
    expect(r.errorCount).toBe(3);
    expect(r.errors[0]).toContain("line 8");
  });

  test("OpenMetrics input is normalized to the 0.0.4 model", () => {
    const text = [
      "# TYPE req counter",
      "# HELP req Requests.",
      "# UNIT req requests",
      'req_total{a="b"} 3 1700000000.5 # {trace_id="x"} 1',
      "req_created 1700000000",
      "# TYPE build info",
      'build_info{version="1"} 1',
      "# TYPE thing unknown",
      "thing 1",
      "# EOF",
      "after 1",
    ].join("\n");
    const r = parseExposition(text);
    expect(r.errorCount).toBe(0);
    expect(r.families.map((f) => [f.name, f.type])).toEqual([
      ["req_total", "counter"],
      ["req_created", "gauge"],
      ["build_info", "gauge"],
      ["thing", "untyped"],
    ]);
    expect(r.byName.get("req_total")!.samples[0]!.timestampMs).toBe(1700000000500);
  });

  // --- property tests -------------------------------------------------------------------------------
  const labelName = fc
    .stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/)
    .filter((s) => s !== "le" && s !== "quantile" && !s.startsWith("__")); // `__*` are dropped (reserved)
  const labelValue = fc.string({
    maxLength: 12,
    unit: fc.constantFrom("a", "Z", " ", '"', "\\", "\n", "é", ",", "}", "=", "#"),
  });
  const labels = fc.dictionary(labelName, labelValue, { maxKeys: 3 });
  const value = fc.oneof(
    fc.double({ noNaN: false }),
    fc.integer({ min: -1e9, max: 1e9 }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0),
  );
  const help = fc.string({ maxLength: 20, unit: fc.constantFrom("a", " ", "\\", "\n", '"', "#", "ü") });
  const baseName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/);

  const family = (i: number) =>
    fc
      .record({
        base: baseName,
        type: fc.constantFrom("counter", "gauge", "untyped", "histogram", "summary"),
        help,
        series: fc.array(
          fc.tuple(labels, value, fc.option(fc.integer({ min: 0, max: 2e12 }), { nil: undefined })),
          { minLength: 1, maxLength: 3 },
        ),
      })
      .map(({ base, type, help, series }): MetricFamily => {
        let name = `f${i}_${base}`;
        const samples: Sample[] = [];
        // distinct series: make label sets unique by index
        series.forEach(([l, v, ts], k) => {
          const lab = { ...l, idx: String(k) };
          const withTs = (s: Sample): Sample => (ts === undefined ? s : { ...s, timestampMs: ts });
          if (type === "histogram") {
            samples.push(withTs({ name: `${name}_bucket`, labels: { ...lab, le: "1" }, value: 1 }));
            samples.push(withTs({ name: `${name}_bucket`, labels: { ...lab, le: "+Inf" }, value: 2 }));
            samples.push(withTs({ name: `${name}_sum`, labels: lab, value: v }));
            samples.push(withTs({ name: `${name}_count`, labels: lab, value: 2 }));
          } else if (type === "summary") {
            samples.push(withTs({ name, labels: { ...lab, quantile: "0.5" }, value: v }));
            samples.push(withTs({ name: `${name}_sum`, labels: lab, value: v }));
            samples.push(withTs({ name: `${name}_count`, labels: lab, value: 1 }));
          } else {
            if (type === "counter") name = name.endsWith("_total") ? name : `${name}_total`;
            samples.push(withTs({ name, labels: lab, value: v }));
          }
        });
        return { name, type, help, samples } as MetricFamily;
      });
  const families = fc
    .integer({ min: 0, max: 6 })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => family(i))));

  const canon = (fs: readonly MetricFamily[]) =>
    JSON.stringify(fs, (k, v) =>
      k === "line" ? undefined : typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
    );

  test("property: render text 0.0.4 -> parse is the identity", () => {
    fc.assert(
      fc.property(families, (fs) => {
        const r = parseExposition(renderFamilies(fs, "text"));
        expect(r.errorCount).toBe(0);
        expect(canon(r.families)).toBe(canon(fs));
      }),
      { numRuns: 300 },
    );
  });

  test("property: render OpenMetrics -> parse is the identity (timestamps to the ms)", () => {
    fc.assert(
      fc.property(families, (fs) => {
        const r = parseExposition(renderFamilies(fs, "openmetrics") + "# EOF\n");
        expect(r.errorCount).toBe(0);
        expect(canon(r.families)).toBe(canon(fs));
      }),
      { numRuns: 300 },
    );
  });

  test("property: garbage never throws and never hangs", () => {
    const chunk = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        "# HELP ",
        "# TYPE x histogram\n",
        "{",
        "}",
        '"',
        "\\",
        "\n",
        " 1",
        "x_bucket",
        "le=",
        "# EOF",
        "\r\n",
        "NaN",
        "+Inf",
      ),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 60 }), (parts) => {
        // A hang would exceed the test's timeout; speed is bench/metrics.ts's business.
        const r = parseExposition(parts.join(""));
        for (const f of r.families) expect(typeof f.name).toBe("string");
      }),
      { numRuns: 1000 },
    );
  });

  test("property: every parsed exposition re-renders into something that parses the same", () => {
    const lines = fc.array(
      fc.oneof(
        fc.constantFrom(
          "# TYPE a counter",
          "# TYPE h histogram",
          "# HELP a x\\ny",
          "a_total 1",
          'h_bucket{le="1"} 1',
          "h_sum 2",
          "h_count 1",
          'a{b="c"} 2',
          "zz 3 1000",
        ),
        fc.string({ maxLength: 20 }),
      ),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(lines, (ls) => {
        const first = parseExposition(ls.join("\n"));
        const second = parseExposition(renderFamilies(first.families, "text"));
        expect(second.errorCount).toBe(0);
        expect(canon(second.families.filter((f) => f.samples.length > 0))).toBe(
          canon(first.families.filter((f) => f.samples.length > 0)),
        );
      }),
      { numRuns: 500 },
    );
  });

  test("property: parsing in steps of any size gives the same result as one pass", () => {
    fc.assert(
      fc.property(families, fc.integer({ min: 1, max: 7 }), (fs, n) => {
        const text = renderFamilies(fs, "text");
        const p = createParser(text);
        let steps = 0;
        while (!p.step(n)) steps++;
        expect(canon(p.result().families)).toBe(canon(parseExposition(text).families));
        const lines = text.split("\n").length - 1;
        expect(steps).toBeGreaterThanOrEqual(Math.ceil(lines / n) - 1);
      }),
      { numRuns: 200 },
    );
  });

  test("hostile input: samples outside their family's names are refused, `__*` labels dropped", () => {
    const text = readFileSync(new URL("./fixtures/hostile.prom", import.meta.url), "utf8");
    const r = parseExposition(text);
    const names = (f: string) => r.byName.get(f)?.samples.map((s) => s.name);
    // A histogram holds only _bucket/_sum/_count: its bare name is refused (counted), `_total` is its own family.
    expect(names("vllm:hist")).toEqual(["vllm:hist_bucket", "vllm:hist_count", "vllm:hist_sum"]);
    expect(names("vllm:hist_total")).toEqual(["vllm:hist_total"]);
    // Text 0.0.4 names a counter's samples like the family: `x_total` after `TYPE x counter` is its own family.
    expect(names("aibrix:prompt_tokens")).toEqual(["aibrix:prompt_tokens"]);
    expect(names("aibrix:prompt_tokens_total")).toEqual(["aibrix:prompt_tokens_total"]);
    // Numbers JavaScript reads but Prometheus does not: hex/binary values and a timestamp beyond any time are
    // refused; an overflowing value and a non-integer timestamp are re-rendered (+Inf, integer ms).
    expect(r.errorCount).toBe(4);
    expect(renderFamilies([r.byName.get("vllm:numbers")!], "text")).toBe(
      '# TYPE vllm:numbers gauge\nvllm:numbers{k="big"} +Inf\nvllm:numbers{k="ts_exp"} 1 1500\n',
    );
    // Samples named like another family are never part of the current one.
    expect(names("vllm:num_requests_waiting")).toEqual(Array(3).fill("vllm:num_requests_waiting"));
    for (const f of r.families) {
      for (const s of f.samples) {
        expect(s.name.startsWith(f.name.replace(/_(total|info)$/, ""))).toBe(true);
        for (const l in s.labels) expect(l.startsWith("__")).toBe(false);
      }
    }
    // A dropped label means the line is re-rendered, never passed through verbatim.
    const waiting = r.byName.get("vllm:num_requests_waiting")!.samples;
    expect(waiting.map((s) => s.labels.engine)).toEqual(["0", "1", "2"]);
    expect(waiting[1]!.line).toBeUndefined();
    expect(renderFamilies([r.byName.get("vllm:num_requests_waiting")!], "text")).not.toContain("__");
    expect(r.byName.get("vllm:inj")!.samples[0]!.labels.model_name).toBe('a"b\\c\nd}e,f="g');
  });

  test("OpenMetrics: a counter sample without _total, an info sample without _info are refused", () => {
    const r = parseExposition(
      [
        "# TYPE c counter",
        "c_total 1",
        "c 999999",
        "# TYPE i info",
        'i_info{a="b"} 1',
        "i 999999",
        "# EOF",
      ].join("\n"),
    );
    expect(r.byName.get("c_total")!.samples.map((s) => s.value)).toEqual([1]);
    expect(r.byName.get("i_info")!.samples.map((s) => s.value)).toEqual([1]);
    expect(r.errorCount).toBe(2);
  });

  test("caps: maxSeries and maxLines stop the parse and say which", () => {
    const text = Array.from({ length: 100 }, (_, i) => `x{i="${i}"} 1`).join("\n");
    expect(parseExposition(text).overflow).toBeUndefined();
    expect(parseExposition(text, { maxSeries: 100 }).overflow).toBeUndefined();
    expect(parseExposition(text, { maxSeries: 99 }).overflow).toBe("series");
    expect(parseExposition(`${"\n".repeat(50)}${text}`, { maxLines: 149 }).overflow).toBe("lines");
    expect(parseExposition(`${"\n".repeat(50)}${text}`, { maxLines: 150 }).overflow).toBeUndefined();
    // The same in steps (the poller's way).
    const p = createParser(text, { maxSeries: 10 });
    while (!p.step(3));
    expect(p.result().overflow).toBe("series");
  });
});
