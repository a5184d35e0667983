//! Benchmark `peers` (not built yet).

fn main() {
    eprintln!("bench peers is not built yet");
}
