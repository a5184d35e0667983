//! `cargo xtask miri`: cache-core's unit tests of its unsafe code (slab, shard lock, shards)
//! under Miri, on the nightly toolchain.
//!
//! Miri interprets the tests and reports undefined behaviour: a read of a slot without an
//! entry, an aliasing violation between the table and the slab, a data race in the lock. It
//! runs orders of magnitude slower than native code, so only the tests in [`TESTS`] run; the
//! heavy ones (churn over thousands of entries) stay with the native run.
//!
//! Needs the nightly toolchain (`rustup toolchain install nightly`); the Miri component is
//! added when missing. `cargo xtask ci` runs this only where nightly is installed.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{root, run_checked};

/// The unit tests that run under Miri (full paths, matched exactly), chosen to cover every
/// unsafe block of cache-core within about two minutes; each took under 20 s under Miri on a
/// 2-core machine. Tests of thousands of operations (churn, rehash of large tables, policies
/// broken for 1,000 inserts) take minutes each there and run natively only.
const TESTS: &[&str] = &[
    // The shard lock: mutual exclusion across threads, and release on unwind.
    "lock::tests::excludes_concurrent_writers",
    "lock::tests::a_panic_under_the_lock_releases_it",
    // Slab reads through the table: insert, hit, replace, evict, remove, expire, clear, sweep.
    "tests::entries_are_charged_heap_bytes_plus_overhead",
    "tests::evicts_in_policy_order_within_the_entry_bound",
    "tests::an_entry_larger_than_a_shard_is_rejected_and_replaces_nothing_stale",
    "tests::an_entry_heavier_than_u32_max_is_rejected_even_within_budget",
    "tests::replacing_a_value_counts_an_update_and_tells_the_listener",
    "tests::remove_invalidate_all_and_retain",
    "tests::time_to_live_expires_entries_on_virtual_time",
    "tests::time_to_idle_is_pushed_back_by_reads",
    "tests::maintenance_sweeps_unread_expired_entries_with_bounded_work",
    "tests::removed_values_go_to_the_reclaimer_with_their_weight",
    // Single flight: the flight's mutex and condvar across threads, and the leader's guard.
    "tests::concurrent_loads_of_one_key_run_the_loader_once",
    "tests::loader_errors_are_not_cached_and_waiters_retry",
    "tests::a_panicking_loader_panics_its_caller_and_releases_waiters",
    "tests::a_panicking_listener_neither_poisons_nor_loses_removals",
    // User code that panics under the lock or around it, and the recovery.
    "tests::hardening::a_policy_that_panics_on_a_hit_does_not_wedge_the_hit_buffer",
    "tests::hardening::a_load_whose_weigher_panics_releases_waiters_and_later_callers",
    "tests::hardening::a_load_whose_value_clone_panics_releases_its_waiters",
    "tests::hardening::remove_and_invalidate_all_cancel_a_load_in_flight",
    "tests::hardening::a_panicking_drop_does_not_stop_the_listener",
    // The victim checks: a policy naming slots without entries, past the slab's end
    // included (the raw read of an entry's recorded bucket). About 80 s together.
    "tests::hardening::a_policy_naming_a_slot_without_an_entry_cannot_break_the_cache",
    "tests::hardening::a_policy_naming_an_evicted_slot_cannot_break_the_cache",
];

pub(crate) fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("unknown argument `{arg}` to miri; usage: cargo xtask miri");
    }
    if !nightly_installed()? {
        bail!(
            "the nightly toolchain is not installed; install it with \
             `rustup toolchain install nightly`, then run `cargo xtask miri` again"
        );
    }
    run_tests()
}

/// Runs the Miri tests when the nightly toolchain is installed; says so and succeeds when it
/// is not (the stable run is complete without them).
pub(crate) fn run_if_nightly() -> Result<()> {
    if nightly_installed()? {
        run_tests()
    } else {
        eprintln!(
            "xtask: Miri skipped: no nightly toolchain (`rustup toolchain install nightly` enables it)"
        );
        Ok(())
    }
}

fn run_tests() -> Result<()> {
    if !miri_installed()? {
        let mut add = rustup();
        add.args([
            "component",
            "add",
            "--toolchain",
            "nightly",
            "miri",
            "rust-src",
        ]);
        run_checked(
            add,
            "rustup component add --toolchain nightly miri rust-src",
        )?;
    }
    let mut test = nightly_cargo();
    test.args(["miri", "test", "-p", "cache-core", "--lib", "--", "--exact"]);
    test.args(TESTS);
    run_checked(
        test,
        "cargo +nightly miri test -p cache-core --lib (a subset)",
    )
}

fn rustup() -> Command {
    let mut cmd = Command::new("rustup");
    cmd.current_dir(root());
    cmd
}

/// `cargo` of the nightly toolchain, through rustup. `CARGO` (the stable cargo that started
/// xtask) is removed: cargo-miri would call it instead of nightly's.
fn nightly_cargo() -> Command {
    let mut cmd = rustup();
    cmd.args(["run", "nightly", "cargo"])
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC");
    cmd
}

fn nightly_installed() -> Result<bool> {
    let out = rustup()
        .args(["toolchain", "list"])
        .output()
        .context("could not run `rustup toolchain list`: is rustup installed?")?;
    Ok(out.status.success()
        && String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with("nightly")))
}

fn miri_installed() -> Result<bool> {
    let out = rustup()
        .args(["component", "list", "--toolchain", "nightly", "--installed"])
        .output()
        .context("could not run `rustup component list`")?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(out.status.success()
        && text.lines().any(|l| l.starts_with("miri"))
        && text.lines().any(|l| l.starts_with("rust-src")))
}
