use std::time::{Duration, Instant};

use super::*;

#[test]
fn a_waker_cuts_the_wait_short() {
    let mut notes = Notifications::new().unwrap();
    let waker = notes.waker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        waker.wake();
    });
    assert_eq!(notes.wait(Duration::from_secs(60)), Notice::Woken);
    t.join().unwrap();
    // The wake-up was consumed.
    assert_eq!(notes.wait(Duration::from_millis(1)), Notice::Timeout);
}

#[test]
fn bad_registrations_are_errors() {
    let mut notes = Notifications::new().unwrap();
    let second = Duration::from_secs(1);
    assert!(
        notes
            .psi_trigger("/proc/pressure/memory", "most", second / 10, second)
            .is_err()
    );
    assert!(
        notes
            .psi_trigger("/proc/pressure/memory", "some", second, second)
            .is_err()
    );
    assert!(
        notes
            .psi_trigger("/nonexistent/pressure", "some", second / 10, 2 * second)
            .is_err()
    );
    assert!(
        notes
            .cgroup_v1_usage("/nonexistent/cgroup", 1 << 20)
            .is_err()
    );
    assert!(
        notes
            .cgroup_v1_pressure_level("/nonexistent/cgroup", "high")
            .is_err()
    );
    assert_eq!(notes.sources(), 0);
    let started = Instant::now();
    assert_eq!(notes.wait(Duration::from_millis(5)), Notice::Timeout);
    assert!(started.elapsed() >= Duration::from_millis(5));
}

/// A real cgroup v1 usage threshold: needs root and the v1 memory controller, as on the CI
/// machines; elsewhere it says why it did not run.
#[cfg(target_os = "linux")]
#[test]
fn a_cgroup_v1_usage_threshold_fires_when_a_child_crosses_it() {
    let root = std::path::Path::new("/sys/fs/cgroup/memory");
    let dir = root.join(format!("qc-pressure-test-{}", std::process::id()));
    if std::fs::create_dir(&dir).is_err() {
        eprintln!(
            "skipped: cannot create a v1 memory cgroup under {}",
            root.display()
        );
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let mut notes = Notifications::new().unwrap();
        notes.cgroup_v1_usage(&dir, 16 << 20).unwrap();
        // A child that joins the group and touches 32 MiB.
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && x=$(head -c 33554432 /dev/zero | tr '\\0' a) && echo ${{#x}} >/dev/null",
                dir.display()
            ))
            .spawn()
            .unwrap();
        let notice = notes.wait(Duration::from_secs(30));
        child.wait().unwrap();
        notice
    });
    // The group is empty once the child exited; remove it before judging.
    let _ = std::fs::remove_dir(&dir);
    assert_eq!(result.unwrap(), Notice::UsageThreshold(16 << 20));
}

/// A PSI trigger on a cgroup that is then removed: the source is dropped, and `wait` does not
/// return at once forever after (it used to, 470,000 times a second). Needs root and a cgroup2
/// mount; elsewhere it says why it did not run.
#[cfg(target_os = "linux")]
#[test]
fn a_trigger_on_a_removed_cgroup_is_dropped() {
    let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .map(std::path::Path::new)
        .find(|p| p.join("cgroup.procs").exists() && p.join("cgroup.subtree_control").exists());
    let Some(root) = root else {
        eprintln!("skipped: no cgroup2 mount");
        return;
    };
    let dir = root.join(format!("qc-psi-test-{}", std::process::id()));
    if std::fs::create_dir(&dir).is_err() {
        eprintln!("skipped: cannot create a cgroup under {}", root.display());
        return;
    }
    let mut notes = Notifications::new().unwrap();
    let registered = notes.psi_trigger(
        dir.join("memory.pressure"),
        "some",
        Duration::from_millis(100),
        Duration::from_secs(2),
    );
    std::fs::remove_dir(&dir).unwrap();
    if let Err(e) = registered {
        eprintln!("skipped: no PSI trigger on {}: {e}", dir.display());
        return;
    }
    let fired = (0..20)
        .filter(|_| matches!(notes.wait(Duration::from_millis(5)), Notice::Psi(_)))
        .count();
    assert!(fired <= 1, "the dead trigger fired {fired} times");
    assert_eq!(notes.sources(), 0);
}
