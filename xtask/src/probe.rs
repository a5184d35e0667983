//! `cargo xtask probe`.

use anyhow::{Result, bail};

pub(crate) fn run(_args: &[String]) -> Result<()> {
    bail!("`cargo xtask probe` is not built yet")
}
