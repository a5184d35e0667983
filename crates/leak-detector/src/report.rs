//! What the detector tells a report: one `leak` section with its counters, the alerts as a
//! table, a finding per open alert and the residual over time.

use cache_traits::{Cell, Finding, Metric, ReportSource, Section, Table, TimeSeries, Unit};

use crate::alert::AlertState;
use crate::detector::LeakDetector;

/// The most points of the residual series in a report.
const SERIES_POINTS: usize = 720;

impl ReportSource for LeakDetector {
    fn sections(&self) -> Vec<Section> {
        let status = self.status();
        let alerts = self.alerts();
        let mut section = Section::new("leak", "Leak analysis");
        let m = &mut section.metrics;
        m.push(Metric::counter(
            "leak_samples",
            "Observations the leak detector accepted",
            Unit::None,
            status.samples_seen as f64,
        ));
        m.push(Metric::counter(
            "leak_samples_ignored",
            "Observations ignored: time not finite or not after the previous one",
            Unit::None,
            status.samples_ignored as f64,
        ));
        m.push(Metric::gauge(
            "leak_open_alerts",
            "Leak alerts open now",
            Unit::None,
            status.open_alerts as f64,
        ));
        m.push(Metric::counter(
            "leak_alerts_opened",
            "Leak alerts opened since the start",
            Unit::None,
            status.alerts_opened as f64,
        ));
        if let Some(v) = status.residual_bytes {
            m.push(Metric::gauge(
                "leak_residual",
                "Heap (or resident set) less the bytes the caches charge",
                Unit::Bytes,
                v,
            ));
        }
        if let Some(v) = status.residual_slope {
            m.push(Metric::gauge(
                "leak_residual_slope",
                "Theil-Sen slope of the residual, bytes per second",
                Unit::None,
                v,
            ));
        }
        if let Some(v) = status.slope_window_seconds {
            m.push(Metric::gauge(
                "leak_slope_window",
                "The window of the residual's slope",
                Unit::Seconds,
                v,
            ));
        }

        let mut table = Table::new(
            "leak_alerts",
            "Leak alerts",
            &[
                "kind", "state", "severity", "first_t", "last_t", "cache", "summary",
            ],
        );
        for a in &alerts {
            table.push(vec![
                a.kind.as_str().into(),
                a.state.as_str().into(),
                a.severity.as_str().into(),
                Cell::Float(a.first_t),
                Cell::Float(a.last_t),
                a.cache.clone().into(),
                a.summary().into(),
            ]);
        }
        section.tables.push(table);

        for a in alerts.iter().filter(|a| a.state == AlertState::Open) {
            let mut finding =
                Finding::new(a.severity, a.kind.code(), a.summary(), &a.recommendation)
                    .evidence("first_t", a.first_t)
                    .evidence("last_t", a.last_t);
            finding.evidence.extend(a.evidence.iter().cloned());
            section.findings.push(finding);
        }

        let mut series = TimeSeries::default();
        series.name = "leak_residual".to_owned();
        series.title = "Heap less cache bytes".to_owned();
        series.unit = Some(Unit::Bytes);
        series.points = self
            .residual_series(SERIES_POINTS)
            .into_iter()
            .map(|(t, v)| ((t.max(0.0) * 1000.0) as u64, v))
            .collect();
        section.series.push(series);
        vec![section]
    }
}
