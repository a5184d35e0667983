//! A fast 64-bit mixer and the hasher built on it, for maps keyed by already-random integers.

use std::hash::{BuildHasherDefault, Hasher};

/// Mixes `x` into a well-distributed 64-bit value (the finaliser of MurmurHash3).
///
/// The simulator uses it to turn trace keys into the key hashes a policy sees; policies use it
/// to derive several independent indexes from one hash.
#[inline]
pub(crate) fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// Asks the CPU to bring the cache line holding `value` into its caches; a hint, no effect on
/// the program's state (a no-op off x86-64).
#[inline]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of x86-64's baseline, and a prefetch only hints the cache: it
        // reads nothing the program sees and cannot fault (the address is valid anyway).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// A hasher for one `u64` (or `u32`) key: a single [`mix64`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MixHasher(u64);

impl Hasher for MixHasher {
    #[inline]
    fn finish(&self) -> u64 {
        mix64(self.0)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.0 ^= u64::from(n);
    }
}

/// Builds [`MixHasher`]s.
pub(crate) type BuildMix = BuildHasherDefault<MixHasher>;

/// A hashbrown map with the [`MixHasher`].
pub(crate) type MixMap<K, V> = hashbrown::HashMap<K, V, BuildMix>;
