//! `cargo xtask demo`.

use anyhow::{Result, bail};

pub(crate) fn run(_args: &[String]) -> Result<()> {
    bail!("`cargo xtask demo` is not built yet")
}
