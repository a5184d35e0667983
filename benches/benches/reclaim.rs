//! Benchmark `reclaim` (not built yet).

fn main() {
    eprintln!("bench reclaim is not built yet");
}
