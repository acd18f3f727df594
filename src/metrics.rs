//! A small Prometheus registry: labelled counters and gauges, rendered as text.
//!
//! rel04d's metrics are few and low-cardinality (labels are operations, outcomes,
//! states, error kinds — never workload ids), so one mutex-guarded map is plenty.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// A metric's name plus its rendered label set, e.g. `{operation="GetAnswer"}`.
type Series = (&'static str, String);

#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<Series, f64>>,
    gauges: Mutex<BTreeMap<Series, f64>>,
    help: Mutex<BTreeMap<&'static str, (&'static str, &'static str)>>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a metric's help text; undeclared metrics render without it.
    pub fn describe(&self, name: &'static str, kind: &'static str, help: &'static str) {
        self.help.lock().unwrap().insert(name, (kind, help));
    }

    pub fn add(&self, name: &'static str, pairs: &[(&str, &str)], value: f64) {
        *self
            .counters
            .lock()
            .unwrap()
            .entry((name, labels(pairs)))
            .or_default() += value;
    }

    pub fn inc(&self, name: &'static str, pairs: &[(&str, &str)]) {
        self.add(name, pairs, 1.0);
    }

    pub fn set(&self, name: &'static str, pairs: &[(&str, &str)], value: f64) {
        self.gauges
            .lock()
            .unwrap()
            .insert((name, labels(pairs)), value);
    }

    /// Replaces every series of gauge `name` (for gauges recomputed as a whole,
    /// like controls by state, so a state that emptied drops to its new value).
    pub fn replace(&self, name: &'static str, series: &[(&[(&str, &str)], f64)]) {
        let mut gauges = self.gauges.lock().unwrap();
        gauges.retain(|(n, _), _| *n != name);
        for (pairs, value) in series {
            gauges.insert((name, labels(pairs)), *value);
        }
    }

    /// The current value of a counter series, for tests and summaries.
    pub fn counter(&self, name: &'static str, pairs: &[(&str, &str)]) -> f64 {
        self.counters
            .lock()
            .unwrap()
            .get(&(name, labels(pairs)))
            .copied()
            .unwrap_or(0.0)
    }

    pub fn gauge(&self, name: &'static str, pairs: &[(&str, &str)]) -> Option<f64> {
        self.gauges
            .lock()
            .unwrap()
            .get(&(name, labels(pairs)))
            .copied()
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let help = self.help.lock().unwrap().clone();
        let mut out = String::new();
        let mut last = "";
        let counters = self.counters.lock().unwrap().clone();
        let gauges = self.gauges.lock().unwrap().clone();
        for ((name, labels), value) in counters.iter().chain(gauges.iter()) {
            if *name != last {
                let (kind, text) = help.get(name).copied().unwrap_or(("untyped", ""));
                if !text.is_empty() {
                    let _ = writeln!(out, "# HELP {name} {text}");
                }
                let _ = writeln!(out, "# TYPE {name} {kind}");
                last = name;
            }
            let _ = writeln!(out, "{name}{labels} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.describe(
            "rel04d_aws_calls_total",
            "counter",
            "AWS calls by operation and outcome.",
        );
        m.inc(
            "rel04d_aws_calls_total",
            &[("operation", "GetAnswer"), ("outcome", "ok")],
        );
        m.inc(
            "rel04d_aws_calls_total",
            &[("operation", "GetAnswer"), ("outcome", "ok")],
        );
        m.set("rel04d_controls", &[("state", "ok")], 3.0);
        m.replace("rel04d_controls", &[(&[("state", "alarm")], 1.0)]);
        let text = m.render();
        assert!(
            text.contains("# HELP rel04d_aws_calls_total AWS calls by operation and outcome.\n")
        );
        assert!(text.contains("# TYPE rel04d_aws_calls_total counter\n"));
        assert!(
            text.contains("rel04d_aws_calls_total{operation=\"GetAnswer\",outcome=\"ok\"} 2\n")
        );
        assert!(text.contains("rel04d_controls{state=\"alarm\"} 1\n"));
        assert!(!text.contains("state=\"ok\""), "replace drops old series");
        assert_eq!(
            m.counter(
                "rel04d_aws_calls_total",
                &[("operation", "GetAnswer"), ("outcome", "ok")]
            ),
            2.0
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(labels(&[("a", "x\"y\\z\n")]), "{a=\"x\\\"y\\\\z\\n\"}");
    }
}
