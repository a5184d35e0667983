//! A report: sections from any number of sources, with what kind of report it is.

use cache_traits::{ReportSource, Section};
use serde::{Deserialize, Serialize};

/// The version of the JSON schema (`docs/report.schema.json`); it changes when a field is
/// renamed or removed, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// Which report it is.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Headline figures and findings.
    Summary,
    /// Every section in full.
    Detailed,
    /// Series over a window, with trend figures.
    Trend,
}

impl ReportKind {
    /// `summary`, `detailed` or `trend`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Summary => "summary",
            ReportKind::Detailed => "detailed",
            ReportKind::Trend => "trend",
        }
    }
}

/// A report: what every source said at one time, as sections.
///
/// Renderers ([`crate::json`], [`crate::csv`], [`crate::text`], [`crate::html`],
/// [`crate::prometheus`]) take a `&Report` and nothing else.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] when the report was made.
    pub schema_version: u32,
    /// Which report it is.
    pub kind: ReportKind,
    /// A title for people.
    pub title: String,
    /// When it was made, in unix milliseconds.
    pub generated_unix_millis: u64,
    /// The sections, in the order of their sources.
    pub sections: Vec<Section>,
}

impl Report {
    /// An empty report.
    pub fn new(kind: ReportKind, title: impl Into<String>, generated_unix_millis: u64) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            kind,
            title: title.into(),
            generated_unix_millis,
            sections: Vec::new(),
        }
    }

    /// A detailed report of every section `sources` give now.
    pub fn detailed<'a>(
        title: impl Into<String>,
        generated_unix_millis: u64,
        sources: impl IntoIterator<Item = &'a dyn ReportSource>,
    ) -> Self {
        let mut report = Self::new(ReportKind::Detailed, title, generated_unix_millis);
        for source in sources {
            report.sections.extend(source.sections());
        }
        report
    }
}
