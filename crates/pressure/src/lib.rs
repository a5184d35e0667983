//! Memory-pressure levels from several signals, with hysteresis, kernel notifications and
//! relief on managed caches.
//!
//! A [`PressureMonitor`] reads each [`MemorySample`](cache_traits::MemorySample) (from any
//! [`MemoryProbe`](cache_traits::MemoryProbe)) against [`Thresholds`]:
//!
//! - usage of every limit the sample knows ([`MemorySample::limits`](cache_traits::MemorySample::limits)):
//!   the cgroup's working set (v2 `memory.current`, v1 `memory.usage_in_bytes`, less inactive
//!   page cache) against `memory.max` and `memory.high` (v1 `memory.limit_in_bytes`), the resident set against a
//!   ceiling the application sets, and the host's memory in use against its total (the
//!   available fraction seen from the other side); v1 usage over `memory.soft_limit_in_bytes`;
//! - PSI `some` and `full` avg10, system-wide and the cgroup's own;
//! - new cgroup events since the last sample: v2 `memory.events` `high`, `max`, `oom_kill`,
//!   v1 `memory.failcnt` and `memory.oom_control` (limit events only where the working set is
//!   at the Elevated mark too: a group full of page cache meets its limit routinely).
//!
//! The level ([`PressureLevel`](cache_traits::PressureLevel): `Normal`, `Elevated`, `High`,
//! `Critical`) rises at once and falls only after every signal stayed below the lower marks for
//! a hold time. While a sample reaches `High`, registered caches shrink by a fraction and the
//! allocator is asked to return memory; `Critical` shrinks harder. Every change and action is a
//! `tracing` event, a [`PressureEvent`] in a bounded log, and a message to subscribers.
//!
//! [`Notifications`] waits on the kernel's own signals (PSI triggers, cgroup v1 usage
//! thresholds and `memory.pressure_level`) so a management thread can respond between ticks.
//!
//! The crate depends on `cache-traits` only: the facade (`query-cache`) wires it to the probe,
//! the sizer and the reclaimer.
//!
//! # Examples
//!
//! ```
//! use cache_traits::{MemorySample, PressureLevel};
//! use pressure::PressureMonitor;
//! use std::time::Duration;
//!
//! let mut monitor = PressureMonitor::builder().hold(Duration::from_secs(10)).build()?;
//! let changes = monitor.subscribe();
//! let mut s = MemorySample::default();
//! s.cgroup.max = Some(1000);
//! s.cgroup.current = Some(960);
//! assert_eq!(monitor.observe(0, &s).level, PressureLevel::Critical);
//! s.cgroup.current = Some(500);
//! // Below every lower mark, but not for 10 s yet.
//! assert_eq!(monitor.observe(5_000_000_000, &s).level, PressureLevel::Critical);
//! assert_eq!(monitor.observe(15_000_000_000, &s).level, PressureLevel::Normal);
//! assert_eq!(changes.try_iter().count(), 2);
//! # Ok::<(), pressure::BuildError>(())
//! ```

mod event;
mod monitor;
mod notify;
mod signal;
mod subscribe;

pub use event::{LevelChange, PressureEvent, ReliefAction, ReliefKind};
pub use monitor::{Assessment, BuildError, MonitorBuilder, PressureMonitor, Releaser};
pub use notify::{Notice, Notifications, Waker};
pub use signal::{Ladder, Reading, Signal, Thresholds};
pub use subscribe::{LevelChanges, Subscribers};
