use cache_traits::{Reclaim, ReportSource};

use crate::Reclaimer;

#[test]
fn a_reclaimer_reports_its_drops_and_purges() {
    let r: Reclaimer<Vec<u8>> = Reclaimer::builder()
        .inline_below_bytes(512)
        .thread_name("qc-test-reclaimer")
        .build()
        .unwrap();
    r.reclaim(vec![0; 4096], 4096);
    r.reclaim(vec![0; 16], 16);
    r.flush();
    let sections = r.sections();
    let s = &sections[0];
    assert_eq!(s.id, "reclaimer.qc-test-reclaimer");
    let value = |name: &str| s.metrics.iter().find(|m| m.name == name).unwrap().value;
    assert_eq!(value("reclaimer_dropped_background"), 1.0);
    assert_eq!(value("reclaimer_dropped_inline"), 1.0);
    assert_eq!(value("reclaimer_dropped_inline_memory"), 16.0);
    assert_eq!(s.tables[0].name, "purges");
}
