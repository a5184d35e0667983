//! What a reclaimer tells a report: where evicted values were dropped, and the purges.

use cache_traits::{Cell, Metric, ReportSource, Section, Table, Unit};

use crate::Reclaimer;

impl<T: Send + 'static> ReportSource for Reclaimer<T> {
    /// One section, `reclaimer.<thread name>`: drops on the background thread and inline, the
    /// queue, panics, purges and the bytes they returned (labelled `reclaimer`), and the recent
    /// purges as a table.
    fn sections(&self) -> Vec<Section> {
        let name = self.thread.name().unwrap_or("reclaimer").to_owned();
        let s = self.stats();
        let n = |v: u64| v as f64;
        let mut section = Section::new(format!("reclaimer.{name}"), format!("Reclaimer {name}"));
        section.metrics = [
            Metric::counter(
                "reclaimer_dropped_background",
                "Evicted values dropped on the reclaimer's thread",
                Unit::None,
                n(s.dropped_background),
            ),
            Metric::counter(
                "reclaimer_dropped_background_memory",
                "Weight of the values dropped on the reclaimer's thread",
                Unit::Bytes,
                n(s.dropped_background_bytes),
            ),
            Metric::counter(
                "reclaimer_dropped_inline",
                "Evicted values dropped on the thread that evicted them",
                Unit::None,
                n(s.dropped_inline),
            ),
            Metric::counter(
                "reclaimer_dropped_inline_memory",
                "Weight of the values dropped inline",
                Unit::Bytes,
                n(s.dropped_inline_bytes),
            ),
            Metric::counter(
                "reclaimer_queue_full",
                "Values dropped inline because the queue was full",
                Unit::None,
                n(s.queue_full),
            ),
            Metric::counter(
                "reclaimer_drop_panics",
                "Drops that panicked",
                Unit::None,
                n(s.drop_panics),
            ),
            Metric::gauge(
                "reclaimer_queue_length",
                "Values waiting in the queue",
                Unit::None,
                s.queue_len as f64,
            ),
            Metric::counter(
                "allocator_purges",
                "Allocator purges and decays completed",
                Unit::None,
                n(s.purges.completed),
            ),
            Metric::counter(
                "allocator_purges_failed",
                "Allocator purges that failed",
                Unit::None,
                n(s.purges.failed),
            ),
            Metric::counter(
                "allocator_purged_memory",
                "Resident bytes the purges returned to the OS",
                Unit::Bytes,
                n(s.purges.returned_bytes),
            ),
            Metric::counter(
                "allocator_purge_time",
                "Time spent purging",
                Unit::Seconds,
                s.purges.total_duration.as_secs_f64(),
            ),
        ]
        .into_iter()
        .map(|m| m.label("reclaimer", name.as_str()))
        .collect();
        let mut purges = Table::new(
            "purges",
            "Recent purges",
            &[
                "kind",
                "trigger",
                "duration_us",
                "resident_before",
                "resident_after",
                "error",
            ],
        );
        for p in &s.purges.recent {
            purges.push(vec![
                Cell::from(p.kind.to_string()),
                Cell::from(p.trigger.to_string()),
                Cell::from(u64::try_from(p.duration.as_micros()).unwrap_or(u64::MAX)),
                Cell::from(p.resident_before),
                Cell::from(p.resident_after),
                Cell::from(p.error.clone()),
            ]);
        }
        section.tables.push(purges);
        vec![section]
    }
}

#[cfg(test)]
mod tests;
