import { checkSync } from "recheck";
for (const p of ["\\d+\\.\\d+", "^.*foo.*$", ".*a.*b.*c", "\\s*#?\\s*$"]) {
  const r = checkSync(p, "");
  const a = r.attack;
  for (const n of [1000, 4000]) {
    const pumps = a.pumps ?? [];
    let input = "";
    for (const pump of pumps) input += pump.prefix + pump.pump.repeat(Math.floor(n / pumps.length / Math.max(1, pump.pump.length)));
    input += a.suffix;
    const re = new RegExp(p); const t = performance.now(); re.test(input); console.log(p, r.complexity.degree, input.length, (performance.now() - t).toFixed(2), "ms");
  }
}
