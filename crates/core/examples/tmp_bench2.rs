use std::hint::black_box;
use std::time::Instant;
fn main() {
    let n = 5_000_000u32;
    for (p, s, op) in [("", "x", "Redis/GET"), ("/never", "x", "Redis/GET"), ("", "x", ""), ("/never", "x", ""), ("/never", "", "")] {
        let rules = sw_core::ignore::IgnoreRules::new(p, s);
        let t = Instant::now();
        for _ in 0..n { black_box(rules.is_ignored(black_box(op))); }
        println!("{p:?} {s:?} {op:?}: {:?}", t.elapsed() / n);
    }
}
