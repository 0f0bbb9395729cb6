use sw_core::ignore::IgnoreRules;
fn unhex(s: &str) -> String {
    let b: Vec<u8> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    String::from_utf8(b).unwrap()
}
#[test]
fn oracle() {
    let text = std::fs::read_to_string("/tmp/oracle/cases.txt").unwrap();
    let mut bad = 0;
    let mut long = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (p, s, op) = (unhex(f[0]), unhex(f[1]), unhex(f[2]));
        if p.len() > 70 { long += 1; }
        let exp = f[3] == "1";
        let got = IgnoreRules::new(&p, &s).is_ignored(&op);
        if got != exp {
            bad += 1;
            if bad < 20 { eprintln!("MISMATCH pat={p:?} suf={s:?} op={op:?} exp={exp} got={got}"); }
        }
    }
    eprintln!("long cases: {long}");
    assert_eq!(bad, 0);
}
