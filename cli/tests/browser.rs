//! report.html in a real browser: headless Chromium loads a sweep's report with a small probe
//! script added and reports, for every chart, where the legend and the plot area are, so a
//! legend drawn over the data fails the test. Chromium is found through `FAULTLINE_CHROMIUM`,
//! else `chromium`, `chromium-browser` or `google-chrome` on `PATH`; without one the test says
//! so and passes, unless `FAULTLINE_REQUIRE_BROWSER=1` (then it fails). Debian: `apt-get
//! install chromium`.

mod common;

use common::{chromium, code, dump_dom, fresh_dir, root, run, stdout};

/// For every line chart: the legend's box, the plot area's box, and whether they intersect;
/// also counts the labelled fault bands and the plotted series outside the plot area.
const PROBE: &str = r#"<script>
(function () {
  const out = { charts: 0, overlaps: [], fault_labels: [], outside: 0 };
  const box = (r) => `(${r.x}, ${r.y}, ${r.width}×${r.height})`;
  const inter = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  for (const svg of document.querySelectorAll('svg.chart')) {
    const plot = svg.querySelector('rect.plot');
    if (!plot) continue;
    out.charts += 1;
    const p = plot.getBBox();
    const legend = svg.querySelector('g.legend-box');
    const l = legend ? legend.getBBox() : null;
    if (!l || l.width === 0) { out.overlaps.push(svg.getAttribute('aria-label') + ': no legend'); continue; }
    if (inter(l, p)) out.overlaps.push(svg.getAttribute('aria-label') + ': legend ' + box(l) + ' plot ' + box(p));
    for (const line of svg.querySelectorAll('polyline.series')) {
      const b = line.getBBox();
      if (b.y < p.y - 1 || b.y + b.height > p.y + p.height + 1) out.outside += 1;
    }
    for (const t of svg.querySelectorAll('text.fault-label')) out.fault_labels.push(t.textContent);
  }
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"#;

#[test]
fn report_legends_sit_outside_the_plot_and_fault_bands_are_labelled() {
    let Some(browser) = chromium() else { return };
    let dir = fresh_dir("browser-tests", "report");
    let out = dir.display().to_string();
    let scenario = |n: &str| root().join("scenarios").join(n).display().to_string();
    let o = run(&[
        "sweep",
        &scenario("register-crash.toml"),
        &scenario("raft-leader-crashes.toml"),
        &scenario("raft-figure8.toml"),
        "--seeds",
        "0..3",
        "--bug",
        "register.no-sync",
        "--bug",
        "raft.commit-prior-term",
        "--out",
        &out,
    ]);
    assert!(matches!(code(&o), 0 | 1), "{}", stdout(&o));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let page = dir.join("probe.html");
    std::fs::write(&page, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let dom = dump_dom(&browser, &page);
    let json = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_else(|| panic!("the probe did not run:\n{}", &dom[..dom.len().min(2000)]));
    let v: serde_json::Value = serde_json::from_str(&json.replace("&quot;", "\"").replace("&amp;", "&"))
        .unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(v["charts"], 9, "three line charts per scenario: {v}");
    assert_eq!(v["overlaps"].as_array().map(Vec::len), Some(0), "legends overlap the plot: {v}");
    assert_eq!(v["outside"], 0, "a series is drawn outside the plot area: {v}");
    let labels: Vec<&str> = v["fault_labels"].as_array().unwrap().iter().filter_map(|l| l.as_str()).collect();
    assert!(labels.iter().any(|l| l.starts_with("crash n")), "crash bands are labelled with their target: {labels:?}");
}
