//! A second core for latency-bound work: single-sample inference and the two halves of a
//! threaded GEMM on a two-thread pool.
//!
//! A one-row product through a dense layer streams the whole weight matrix once and is bound by
//! the core's cache bandwidth, so splitting its rows over two cores (each streaming its half from
//! its own cache) nearly halves it. But the product takes only microseconds, and waking a sleeping
//! thread (what a rayon `join` from outside the pool does, twice) costs about as much; a training
//! step's products are separated by elementwise passes long enough for rayon's workers to fall
//! asleep too. So one helper thread, started on first use, spins for a short while after each job
//! ([`SPIN_WINDOW`]) and then parks; a burst of calls finds it awake.
//!
//! The caller never waits on a helper that has not started: after finishing its own half it tries
//! to take the posted half back, and runs it itself if the helper has not claimed it (a
//! descheduled or busy helper costs nothing but the lost parallelism). Only one caller uses the
//! helper at a time; a concurrent caller splits its pair with `rayon::join` instead. Which thread
//! computes which half never changes the result.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long the helper keeps spinning for the next job before it parks.
const SPIN_WINDOW: Duration = Duration::from_micros(200);

const IDLE: u8 = 0;
const POSTED: u8 = 1;
const TAKEN: u8 = 2;
const DONE: u8 = 3;
const PANICKED: u8 = 4;

type Job = dyn Fn() + Sync;

struct Shared {
    state: AtomicU8,
    /// The posted job: points at the poster's stack slot holding the job's (fat) reference,
    /// since an atomic holds only thin pointers.
    job: AtomicPtr<&'static Job>,
    /// Set by the caller holding the helper; other callers split with `rayon::join`.
    busy: AtomicBool,
    parked: AtomicBool,
    thread: OnceLock<Thread>,
}

fn shared() -> Option<&'static Shared> {
    static SHARED: OnceLock<Option<&'static Shared>> = OnceLock::new();
    *SHARED.get_or_init(|| {
        let s: &'static Shared = Box::leak(Box::new(Shared {
            state: AtomicU8::new(IDLE),
            job: AtomicPtr::new(std::ptr::null_mut()),
            busy: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            thread: OnceLock::new(),
        }));
        let handle = std::thread::Builder::new()
            .name("mlp-helper-core".into())
            .spawn(move || helper_loop(s))
            .ok()?;
        let _ = s.thread.set(handle.thread().clone());
        Some(s)
    })
}

fn helper_loop(s: &'static Shared) {
    let mut last_job = Instant::now();
    let mut spins: u64 = 0;
    loop {
        if s.state.load(Ordering::Acquire) == POSTED
            && s.state
                .compare_exchange(POSTED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let job = s.job.load(Ordering::Acquire);
            // SAFETY: winning POSTED -> TAKEN makes this thread the job's only runner: the
            // poster stored `job` (a pointer to a slot in its `run_pair` frame holding the
            // job's reference) before publishing POSTED with SeqCst, which our AcqRel CAS
            // synchronizes with, so `job` is that non-null pointer. Once the state is TAKEN the
            // poster can no longer take the job back, and it does not leave `run_pair` (so the
            // slot and everything the job borrows stay alive and unmoved) until it sees DONE or
            // PANICKED, stored below after the job's last use. The job is `Fn + Sync`, so
            // calling it through a shared reference from this thread is allowed.
            let run = std::panic::AssertUnwindSafe(|| unsafe { (**job)() });
            let finished = if std::panic::catch_unwind(run).is_ok() {
                DONE
            } else {
                PANICKED
            };
            s.state.store(finished, Ordering::Release);
            last_job = Instant::now();
            continue;
        }
        spins += 1;
        // Reading the clock costs more than a spin; look at it only every so often.
        if !spins.is_multiple_of(64) || last_job.elapsed() < SPIN_WINDOW {
            std::hint::spin_loop();
            continue;
        }
        s.parked.store(true, Ordering::SeqCst);
        // Re-check after announcing the park, so a post in between is not missed.
        if s.state.load(Ordering::SeqCst) != POSTED {
            std::thread::park();
        }
        s.parked.store(false, Ordering::SeqCst);
        last_job = Instant::now();
    }
}

/// Runs `first` on the calling thread and `second` on the helper core when it is awake in time
/// (else on the calling thread after `first`); when another caller holds the helper, runs the two
/// with `rayon::join`. Returns when both have run.
pub(crate) fn run_pair(first: impl FnOnce() + Send, second: &(dyn Fn() + Sync)) {
    let Some(s) = shared() else {
        first();
        second();
        return;
    };
    if s.busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        rayon::join(first, second);
        return;
    }
    // SAFETY: only the lifetime is changed (same type, same layout), and only for the helper's
    // view: every path out of this function (the panics of `first` included, which are caught
    // and resumed only at the end) first either takes the job back before the helper claimed it
    // (POSTED -> IDLE: never run there) or waits until the helper reports DONE or PANICKED
    // (finished with it). `slot` lives in this frame and is not touched again until then.
    let mut slot: &'static Job =
        unsafe { std::mem::transmute::<&(dyn Fn() + Sync + '_), &'static Job>(second) };
    s.job.store(&raw mut slot, Ordering::Release);
    s.state.store(POSTED, Ordering::SeqCst);
    if s.parked.load(Ordering::SeqCst)
        && let Some(t) = s.thread.get()
    {
        t.unpark();
    }
    // A panic in `first` must not unwind past the job the helper may be running (it borrows
    // this frame): finish the protocol, then resume the panic.
    let first_result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(first));
    if s.state
        .compare_exchange(POSTED, IDLE, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        // Taken back before the helper claimed it: the helper is out of the picture.
        s.job.store(std::ptr::null_mut(), Ordering::Release);
        s.busy.store(false, Ordering::Release);
        if let Err(panic) = first_result {
            std::panic::resume_unwind(panic);
        }
        second();
        return;
    }
    let finished = loop {
        let state = s.state.load(Ordering::Acquire);
        if state == DONE || state == PANICKED {
            break state;
        }
        std::hint::spin_loop();
    };
    s.state.store(IDLE, Ordering::Release);
    s.job.store(std::ptr::null_mut(), Ordering::Release);
    s.busy.store(false, Ordering::Release);
    if let Err(panic) = first_result {
        std::panic::resume_unwind(panic);
    }
    assert!(finished == DONE, "a job on the helper core panicked");
}

/// Runs `work` on two pieces of data: `first` on the calling thread, `second` as in [`run_pair`]
/// (on the helper core when it is awake). For work split into two disjoint halves, such as
/// `split_at_mut` pieces of a buffer.
pub(crate) fn run_split<P: Send>(first: P, second: P, work: impl Fn(P) + Sync) {
    let second = std::sync::Mutex::new(Some(second));
    run_pair(|| work(first), &|| {
        // Uncontended: the pair's second half runs exactly once.
        if let Some(piece) = second.lock().ok().and_then(|mut slot| slot.take()) {
            work(piece);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn both_halves_run_exactly_once_from_many_callers() {
        // Fewer under Miri, which checks every interleaving it runs for data races.
        const CALLS: usize = if cfg!(miri) { 25 } else { 2000 };
        let runs = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..CALLS {
                        let mut a = 0u64;
                        let b = AtomicUsize::new(0);
                        run_pair(|| a += 1, &|| {
                            b.fetch_add(1, Ordering::Relaxed);
                        });
                        assert_eq!(a, 1);
                        assert_eq!(b.load(Ordering::Relaxed), 1);
                        runs.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(runs.load(Ordering::Relaxed), 4 * CALLS);
    }

    #[test]
    fn a_panicking_half_is_reported_and_the_helper_stays_usable() {
        for _ in 0..if cfg!(miri) { 3 } else { 50 } {
            let first = std::panic::catch_unwind(|| run_pair(|| panic!("first half"), &|| {}));
            assert!(first.is_err());
            let second = std::panic::catch_unwind(|| run_pair(|| {}, &|| panic!("second half")));
            assert!(second.is_err());
        }
        let hits = AtomicUsize::new(0);
        run_split(1usize, 2usize, |k| {
            hits.fetch_add(k, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 3);
    }
}
