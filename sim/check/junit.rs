//! JUnit XML of a check: one test suite, one test case per point and
//! metric, for CI systems that show test reports.

use super::Row;

/// JUnit XML: one test suite (timed: `seconds` the check took), one test
/// case per point and metric; a failure says the baseline, the value now
/// and the change with its 95% interval.
pub fn junit(suite: &str, rows: &[Row], seconds: f64) -> String {
    let escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let failures = rows.iter().filter(|r| r.verdict != "ok").count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n",
        escape(suite),
        rows.len()
    );
    let number = |v: Option<f64>| v.map_or("none".to_string(), |v| format!("{v:.4}"));
    for row in rows {
        let name = format!("{} {}", row.point_label(), row.metric);
        xml.push_str(&format!("<testcase classname=\"{}\" name=\"{}\" time=\"0\"", escape(suite), escape(&name)));
        if row.verdict == "ok" {
            xml.push_str("/>\n");
        } else {
            let change = row.change.map_or(String::new(), |c| {
                format!(", change {:+.4} [95% CI {:+.4}, {:+.4}]", c.difference, c.ci95_low, c.ci95_high)
            });
            let message = format!(
                "{} {}: baseline {}, now {}{change}",
                row.metric,
                row.verdict,
                number(row.baseline),
                number(row.now)
            );
            xml.push_str(&format!(">\n<failure message=\"{}\"/>\n</testcase>\n", escape(&message)));
        }
    }
    xml.push_str("</testsuite>\n</testsuites>\n");
    xml
}
