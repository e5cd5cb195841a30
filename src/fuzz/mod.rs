//! Fuzzing on stable Rust: every parser that takes user input is fed
//! mutated inputs, and must neither panic, nor hang, nor blow up memory.
//!
//! No nightly toolchain (cargo-fuzz needs one) can be installed here, so
//! this is a small mutation fuzzer of our own: inputs start from a seed
//! corpus, and are mutated with byte flips, insertions of dictionary
//! tokens (the syntax of the format under test), splices and repetitions,
//! from a fixed-seed PRNG so that a failure is reproducible.
//!
//! `cargo test` runs each target for a bounded number of inputs. The
//! `#[ignore]`d `long` tests run them for as long as `DOCS_FUZZ_SECONDS`
//! says, per target (`python3 bench/fuzz.py --seconds 400` drives them,
//! one process per target, and prints the counts): a panic prints the
//! input (hex and text) and fails; an input that takes longer than the
//! hang limit aborts the process after printing it; the peak resident
//! memory is reported.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A single input must be handled within this time.
pub const HANG_LIMIT: Duration = Duration::from_secs(10);

/// A fuzz target: its name, seed inputs, dictionary, and the function
/// under test (which must not panic on any input).
pub struct Target {
    pub name: &'static str,
    pub seeds: &'static [&'static str],
    pub dictionary: &'static [&'static str],
    pub run: fn(&[u8]),
}

/// What a fuzzing session did.
#[derive(Debug)]
pub struct Outcome {
    pub inputs: u64,
    pub elapsed: Duration,
    /// Peak resident memory of the process so far, in KiB (Linux).
    pub peak_rss_kib: Option<u64>,
}

/// The input being run, and since when (for the watchdog).
type Current = Arc<Mutex<Option<(Vec<u8>, Instant)>>>;

/// xorshift64*: small, fast, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One mutated input from the corpus.
pub fn mutate(rng: &mut Rng, target: &Target, corpus: &[Vec<u8>]) -> Vec<u8> {
    // Half the time from a seed (the corpus starts with them): mutants of
    // mutants drift into inputs the parsers reject on the first line.
    let from = if rng.below(2) == 0 {
        target.seeds.len().min(corpus.len())
    } else {
        corpus.len()
    };
    let mut input = if corpus.is_empty() {
        Vec::new()
    } else {
        corpus[rng.below(from)].clone()
    };
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let at = rng.below(input.len() + 1);
        match rng.below(9) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = rng.next() as u8;
            }
            2 | 3 if !target.dictionary.is_empty() => {
                let token = target.dictionary[rng.below(target.dictionary.len())];
                input.splice(at..at, token.bytes());
            }
            4 if !input.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                input.drain(at.min(end)..end);
            }
            5 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                let to = (from + rng.below(64)).min(other.len());
                input.splice(at..at, other[from..to].iter().copied());
            }
            6 if !input.is_empty() => {
                // Repeat a chunk: deep nesting, long lines.
                let from = rng.below(input.len());
                let to = (from + 1 + rng.below(8)).min(input.len());
                let chunk = input[from..to].to_vec();
                for _ in 0..rng.below(32) {
                    input.splice(at..at, chunk.iter().copied());
                }
            }
            7 => {
                let special: &[&[u8]] = &[
                    b"\0",
                    b"\r\n",
                    b"\n",
                    b"\t",
                    "€".as_bytes(),
                    "\u{feff}".as_bytes(),
                    b"\xff",
                    b"\xc0\xae",
                    b"\"",
                    b"'",
                    b"\\",
                    b"{",
                    b"}",
                    b"[",
                    b"]",
                    b"%",
                ];
                let s = special[rng.below(special.len())];
                input.splice(at..at, s.iter().copied());
            }
            _ => {
                let n = rng.below(4);
                for _ in 0..n {
                    input.insert(at.min(input.len()), (rng.next() % 128) as u8);
                }
            }
        }
        if input.len() > 64 * 1024 {
            input.truncate(64 * 1024);
        }
    }
    input
}

/// Runs `target` on mutated inputs until `inputs` have run or `time` has
/// passed. Panics (failing the test) with the input that made it panic.
pub fn fuzz(target: &Target, seed: u64, inputs: u64, time: Duration) -> Outcome {
    quiet_caught_panics();
    let mut rng = Rng::new(seed ^ fxhash(target.name));
    let mut corpus: Vec<Vec<u8>> = target.seeds.iter().map(|s| s.as_bytes().to_vec()).collect();
    let started = Instant::now();
    let current: Current = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicU64::new(0));
    let watchdog = spawn_watchdog(target.name, current.clone(), done.clone());
    let mut n = 0;
    // Every seed as it is, first.
    let seeds: Vec<Vec<u8>> = corpus.clone();
    let mut queue = seeds.into_iter();
    while n < inputs && started.elapsed() < time {
        let input = queue
            .next()
            .unwrap_or_else(|| mutate(&mut rng, target, &corpus));
        *current.lock().expect("fuzz state") = Some((input.clone(), Instant::now()));
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        *current.lock().expect("fuzz state") = None;
        if let Err(cause) = result {
            done.store(u64::MAX, Ordering::SeqCst);
            let why = cause
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "fuzz target `{}` panicked after {n} inputs: {why}\ninput (text): {:?}\ninput (hex): {}",
                target.name,
                String::from_utf8_lossy(&input),
                hex(&input)
            );
        }
        // Keep some mutants as new starting points (a crude corpus).
        if n % 16 == 0 && corpus.len() < 512 {
            corpus.push(input);
        }
        n += 1;
    }
    done.store(u64::MAX, Ordering::SeqCst);
    let _ = watchdog.join();
    Outcome {
        inputs: n,
        elapsed: started.elapsed(),
        peak_rss_kib: peak_rss_kib(),
    }
}

/// A panic the code under test catches itself (pulldown-cmark's, under
/// [`crate::error::catch_quietly`]) is an answer, not a finding: the hook
/// of the test harness would print it and, with `RUST_BACKTRACE` set,
/// capture a backtrace, whose symbolization loads the debug information
/// (over 100 MiB of resident memory, seconds per input). The binary's
/// hook skips them the same way (`cmd::print`).
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !crate::error::panicking_quietly() {
                previous(info);
            }
        }));
    });
}

/// Aborts the process, printing the input, when one input runs too long.
fn spawn_watchdog(
    name: &'static str,
    current: Current,
    done: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while done.load(Ordering::SeqCst) != u64::MAX {
            std::thread::sleep(Duration::from_millis(100));
            let guard = current.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((input, since)) = guard.as_ref() {
                if since.elapsed() > HANG_LIMIT {
                    eprintln!(
                        "fuzz target `{name}` hangs (over {HANG_LIMIT:?}) on input (text): {:?}\ninput (hex): {}",
                        String::from_utf8_lossy(input),
                        hex(input)
                    );
                    std::process::abort();
                }
            }
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x1000_0000_01b3)
    })
}

/// `VmHWM` of /proc/self/status.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The inputs of the quick runs in `cargo test`, per target.
pub const QUICK_INPUTS: u64 = 50_000;

/// For the long runs: `DOCS_FUZZ_SECONDS` (default 10) per target.
pub fn long_time() -> Duration {
    let secs = std::env::var("DOCS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

/// Runs a target quickly (fixed seed), as `cargo test` does.
pub fn quick(target: &Target) {
    fuzz(target, 0x5eed, QUICK_INPUTS, Duration::from_secs(2));
}

/// Runs a target for [`long_time`] and prints one line of figures for
/// `bench/fuzz.py`.
pub fn long(target: &Target) {
    let seed = std::env::var("DOCS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let o = fuzz(target, seed, u64::MAX, long_time());
    println!(
        "FUZZ target={} inputs={} seconds={:.1} panics=0 hangs=0 peak_rss_kib={}",
        target.name,
        o.inputs,
        o.elapsed.as_secs_f64(),
        o.peak_rss_kib.unwrap_or(0)
    );
}

pub mod targets;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzzer_finds_a_planted_bug() {
        fn planted(input: &[u8]) {
            if input.windows(3).any(|w| w == b"BUG") {
                panic!("planted");
            }
        }
        let t = Target {
            name: "planted",
            seeds: &["a harmless input"],
            dictionary: &["BUG"],
            run: planted,
        };
        let r = std::panic::catch_unwind(|| fuzz(&t, 1, 10_000, Duration::from_secs(10)));
        let msg = r.unwrap_err();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("planted") && msg.contains("input (hex)"),
            "{msg}"
        );
    }

    #[test]
    fn mutation_is_reproducible() {
        let t = Target {
            name: "x",
            seeds: &["seed"],
            dictionary: &["tok"],
            run: |_| {},
        };
        let corpus = vec![b"seed".to_vec()];
        let a: Vec<Vec<u8>> = {
            let mut r = Rng::new(7);
            (0..20).map(|_| mutate(&mut r, &t, &corpus)).collect()
        };
        let mut r = Rng::new(7);
        let b: Vec<Vec<u8>> = (0..20).map(|_| mutate(&mut r, &t, &corpus)).collect();
        assert_eq!(a, b);
    }
}
