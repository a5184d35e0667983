//! Integration tests: the readers, LRU and Belady's OPT reproduce the published hit ratios of
//! the shared traces (see `shared/traces/README.md`) to within 0.01 points.
//!
//! The traces are not in the repository. They are looked up in `$QC_TRACES`, else in
//! `<workspace root>/../shared/traces`; when they are missing these tests fail, they do not skip.
//!
//! [`bounds`] drives every policy through millions of keys under a counting allocator.

mod bounds;

use std::path::PathBuf;

use eviction::sim::{Belady, PolicyKind};
use eviction::trace::Trace;

/// The shared traces directory.
fn traces_dir() -> PathBuf {
    match std::env::var_os("QC_TRACES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces"),
    }
}

fn load(file: &str) -> Trace {
    let path = traces_dir().join(file);
    Trace::read(&path, None).unwrap_or_else(|e| {
        panic!("{e} (set QC_TRACES to the shared traces directory; these tests never skip)")
    })
}

/// One row of the README table: size, published LRU, published OPT (if any).
type Row = (u64, f64, Option<f64>);

/// Replays `file` at each row's size and compares LRU and OPT with the published values.
fn check(file: &str, rows: &[Row]) {
    let trace = load(file);
    let opt = rows
        .iter()
        .any(|r| r.2.is_some())
        .then(|| Belady::new(&trace));
    let mut failures = Vec::new();
    for &(size, lru, published_opt) in rows {
        let ours = PolicyKind::Lru.run(&trace, size).hit_ratio();
        if (ours - lru).abs() > 0.01 {
            failures.push(format!("{file} @ {size}: lru {ours:.4} vs published {lru}"));
        }
        if let (Some(want), Some(opt)) = (published_opt, &opt) {
            let ours = opt.simulate(size).hit_ratio();
            if (ours - want).abs() > 0.01 {
                failures.push(format!(
                    "{file} @ {size}: opt {ours:.4} vs published {want}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn oltp() {
    check(
        "arc/OLTP.lis",
        &[
            (250, 16.47, Some(38.47)),
            (500, 23.45, Some(46.43)),
            (1000, 32.83, Some(53.62)),
            (2000, 42.47, Some(60.40)),
            (5000, 53.65, None),
            (10000, 60.70, None),
        ],
    );
}

#[test]
fn gli() {
    check(
        "lirs/gli.trc",
        &[
            (250, 0.91, Some(17.71)),
            (500, 0.95, Some(34.33)),
            (1000, 11.21, Some(53.15)),
            (2000, 57.41, Some(57.96)),
        ],
    );
}

#[test]
fn loop_trace() {
    check("lirs/loop.trc", &[(512, 0.00, Some(50.54))]);
}

#[test]
fn cs() {
    check("lirs/cs.trc", &[(563, 1.83, Some(35.04))]);
}

/// P3 has no published OPT value, so only LRU runs here.
#[test]
fn p3() {
    check("arc/P3.lis", &[(32768, 3.57, None), (152508, 50.29, None)]);
}

#[test]
fn orm_busy() {
    check("cache2k/orm-busy.trace", &[(4096, 84.56, Some(90.51))]);
}

#[test]
fn web12() {
    check("cache2k/web12.trace", &[(16384, 85.61, Some(85.61))]);
}

#[test]
fn scarab_recs() {
    check("scarab/scarab-recs.trace", &[(100000, 75.91, Some(79.25))]);
}

#[test]
fn missing_traces_fail_loudly() {
    let err = Trace::read(&traces_dir().join("no-such-trace.trc"), None).unwrap_err();
    assert!(err.to_string().contains("cannot read trace"), "{err}");
}

/// One README row for the online policies: size, best published online hit ratio (LRU, ARC,
/// LIRS, W-TinyLFU), published ARC (if any).
type PolicyRow = (&'static str, u64, f64, Option<f64>);

/// Every row of the README table.
const POLICY_ROWS: &[PolicyRow] = &[
    ("arc/OLTP.lis", 250, 22.76, Some(21.46)),
    ("arc/OLTP.lis", 500, 30.61, Some(30.61)),
    ("arc/OLTP.lis", 1000, 39.06, Some(39.06)),
    ("arc/OLTP.lis", 2000, 46.17, Some(46.17)),
    ("arc/OLTP.lis", 5000, 55.25, Some(55.25)),
    ("arc/OLTP.lis", 10000, 61.87, Some(61.87)),
    ("lirs/gli.trc", 250, 15.91, Some(1.38)),
    ("lirs/gli.trc", 500, 33.60, Some(1.38)),
    ("lirs/gli.trc", 1000, 50.57, Some(21.30)),
    ("lirs/gli.trc", 2000, 57.96, Some(57.41)),
    ("lirs/loop.trc", 512, 49.94, None),
    ("lirs/cs.trc", 563, 33.42, None),
    ("arc/P3.lis", 32768, 17.12, Some(17.12)),
    ("arc/P3.lis", 152508, 50.29, None),
    ("cache2k/orm-busy.trace", 4096, 84.63, None),
    ("cache2k/web12.trace", 16384, 85.61, None),
    ("scarab/scarab-recs.trace", 100000, 76.09, Some(76.09)),
];

/// Rows where the default policy is known to miss the target (best published − 1.0), with the
/// floor it must still reach so that the shortfall cannot grow unnoticed. Each is reported in
/// `docs/POLICIES.md`; remove a row here when the policy meets the target on it.
const KNOWN_SHORTFALLS: &[(&str, u64, f64)] = &[];

/// The default policy is within 1.0 point of the best published online policy on every row
/// of the README table but the known shortfalls (which must hold their floor), and our ARC is
/// within 0.3 of the published ARC (implementations differ in small details such as the order
/// of ghost trimming).
#[test]
fn default_policy_and_arc_against_published() {
    let mut failures = Vec::new();
    let mut loaded: Option<(&str, Trace)> = None;
    for &(file, size, best, arc) in POLICY_ROWS {
        if loaded.as_ref().is_none_or(|(f, _)| *f != file) {
            loaded = Some((file, load(file)));
        }
        let Some((_, trace)) = &loaded else { continue };
        let ours = PolicyKind::DEFAULT.run(trace, size).hit_ratio();
        let known = KNOWN_SHORTFALLS
            .iter()
            .find(|(f, s, _)| *f == file && *s == size);
        if let Some(&(_, _, floor)) = known {
            if ours < floor {
                failures.push(format!(
                    "{file} @ {size}: default {ours:.2} fell below its known-shortfall floor {floor}"
                ));
            }
        } else if ours < best - 1.0 {
            failures.push(format!(
                "{file} @ {size}: default {ours:.2} < best published {best} − 1"
            ));
        }
        if let Some(arc) = arc {
            let ours = PolicyKind::Arc.run(trace, size).hit_ratio();
            if (ours - arc).abs() > 0.3 {
                failures.push(format!("{file} @ {size}: arc {ours:.2} vs published {arc}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
