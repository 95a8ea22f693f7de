// Rust panics caught with catch_unwind, in the main thread and in spawned
// threads (a thread's panic comes back from join as an Err): each panic
// unwinds through libgcc_s.
use std::panic;
use std::thread;

struct Noisy(u32);
impl Drop for Noisy {
    fn drop(&mut self) {
        if self.0 % 50 == 0 {
            println!("dropped {}", self.0);
        }
    }
}

fn deep(n: u32, at: u32) -> u32 {
    let _g = Noisy(n * 1000 + at);
    if n == 0 {
        panic!("bottom of {}", at);
    }
    deep(n - 1, at) + 1
}

fn main() {
    panic::set_hook(Box::new(|_| {}));
    let mut caught = 0;
    for i in 0..100u32 {
        let r = panic::catch_unwind(|| {
            if i % 4 == 0 {
                let v: Vec<u32> = Vec::new();
                return v[i as usize];
            }
            deep(i % 9, i)
        });
        match r {
            Ok(v) => println!("ok {}", v),
            Err(e) => {
                caught += 1;
                if let Some(s) = e.downcast_ref::<String>() {
                    if i % 10 == 1 {
                        println!("caught: {}", s);
                    }
                }
            }
        }
    }
    println!("caught {} panics in main", caught);
    let handles: Vec<_> = (0..4u32)
        .map(|t| {
            thread::spawn(move || {
                let mut n = 0;
                for i in 0..50u32 {
                    if panic::catch_unwind(|| deep(i % 5, t)).is_err() {
                        n += 1;
                    }
                }
                if t == 2 {
                    panic!("thread {} gives up", t);
                }
                n
            })
        })
        .collect();
    for (t, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(n) => println!("thread {} caught {}", t, n),
            Err(_) => println!("thread {} panicked", t),
        }
    }
    std::process::exit(3);
}
