//! JUnit XML of a check: one test suite, one test case per point and
//! metric, for CI systems that show test reports.

use super::Row;

/// JUnit XML: one test suite, one test case per point and metric.
pub fn junit(suite: &str, rows: &[Row]) -> String {
    let escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let failures = rows.iter().filter(|r| r.verdict != "ok").count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        escape(suite),
        rows.len()
    );
    for row in rows {
        let name = format!("point {} ({}) {}", row.point, row.values.join(", "), row.metric);
        xml.push_str(&format!("<testcase classname=\"{}\" name=\"{}\"", escape(suite), escape(&name)));
        if row.verdict == "ok" {
            xml.push_str("/>\n");
        } else {
            let message = format!("{} {}: baseline {:?}, now {:?}", row.metric, row.verdict, row.baseline, row.now);
            xml.push_str(&format!(">\n<failure message=\"{}\"/>\n</testcase>\n", escape(&message)));
        }
    }
    xml.push_str("</testsuite>\n</testsuites>\n");
    xml
}
