//! `cargo xtask`: the project's automation (ci, bench, demo).

fn main() {
    println!("cargo xtask <ci|bench|demo>");
}
