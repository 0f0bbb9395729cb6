use std::hint::black_box;
use std::time::Instant;
fn main() {
    let n = 2_000_000u32;
    let t = Instant::now();
    for _ in 0..n { black_box(sw_core::ids::new_id()); }
    println!("new_id: {:?}", t.elapsed() / n);
    for (p, ops) in [("", vec!["/api/users/123", "/static/app.js", "Redis/GET", "/a/b/c/d/e/f/g.html", ""]),
                     ("/health,/metrics/**,/api/**/internal/*,/eureka/*", vec!["/api/users/123", "/api/v1/x/internal/y", "/metrics/a/b", "/healthz", "/eureka/apps"])] {
        let rules = sw_core::ignore::IgnoreRules::new(p, sw_core::ignore::DEFAULT_IGNORE_SUFFIX);
        for op in ops {
            let t = Instant::now();
            for _ in 0..n { black_box(rules.is_ignored(black_box(op))); }
            println!("is_ignored {p:?} {op:?}: {:?} -> {}", t.elapsed() / n, rules.is_ignored(op));
        }
    }
    let s = sw_core::sampler::Sampler::new(100);
    let t = Instant::now();
    for _ in 0..n { black_box(s.try_sample()); }
    println!("try_sample: {:?}", t.elapsed() / n);
    let v = sw_core::sw8::encode(&sw_core::sw8::Sw8 { sampled: true, trace_id: sw_core::ids::new_id(), parent_segment_id: sw_core::ids::new_id(), parent_span_id: 3, parent_service: "svc".into(), parent_service_instance: "inst-1".into(), parent_endpoint: "/users".into(), address_used_at_client: "host:8080".into() });
    let t = Instant::now();
    for _ in 0..n { black_box(sw_core::sw8::decode_header(black_box(&v))); }
    println!("decode_header: {:?}", t.elapsed() / n);
    let sw = sw_core::sw8::decode(&v).unwrap();
    let t = Instant::now();
    for _ in 0..n { black_box(sw_core::sw8::encode(black_box(&sw))); }
    println!("encode: {:?}", t.elapsed() / n);
}
