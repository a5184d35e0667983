//! Benchmark `probe` (not built yet).

fn main() {
    eprintln!("bench probe is not built yet");
}
