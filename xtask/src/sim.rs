//! `cargo xtask sim`.

use anyhow::{Result, bail};

pub(crate) fn run(_args: &[String]) -> Result<()> {
    bail!("`cargo xtask sim` is not built yet")
}
