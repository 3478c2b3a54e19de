//! A few hundred mutated Containerfiles a run through the parser, the
//! variable expander and the ignore-file reader: each must give a result
//! or a clean error, never a panic. The seed changes every run and is
//! printed, so a failure can be replayed with BERTH_FUZZ_SEED.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use berth_build::containerfile::ignore::IgnoreRules;
use berth_build::containerfile::substitute::expand;
use berth_build::containerfile::{Containerfile, Instruction};

const ROUNDS: usize = 400;

/// Fragments that stress the parser's corners.
const PIECES: &[&str] = &[
    "\\",
    "\\\n",
    "`",
    "\n",
    "\r\n",
    "\"",
    "'",
    "$",
    "${",
    "}",
    "${A:-",
    "${A:+x}",
    "${A#",
    "<<",
    "<<EOF\n",
    "<<-'E'\n",
    "\nEOF\n",
    "[",
    "]",
    "[\"a\",",
    "--",
    "--mount=",
    "type=secret,",
    "--from=",
    "=",
    ",",
    "#",
    "# escape=`\n",
    "ONBUILD ",
    "FROM ",
    "RUN ",
    "COPY ",
    "HEALTHCHECK ",
    "CMD ",
    "\t",
    " ",
    "\u{feff}",
    "é",
    "\u{0}",
    "**",
    "!",
    "[^",
    "-",
    "AS ",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(seed_text: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = seed_text.chars().collect();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 => {
                let piece: Vec<char> = PIECES[rng.below(PIECES.len())].chars().collect();
                chars.splice(at..at, piece);
            }
            1 if at < chars.len() => {
                let end = (at + 1 + rng.below(12)).min(chars.len());
                chars.drain(at..end);
            }
            2 if at < chars.len() => {
                let end = (at + 1 + rng.below(20)).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                let to = rng.below(chars.len() + 1);
                chars.splice(to..to, copy);
            }
            _ if at < chars.len() => chars[at] = char::from(rng.below(128) as u8),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Expands every raw word the instruction holds, as the executor will.
fn expand_all(instruction: &Instruction, escape: char) {
    let env = |name: &str| (name == "A").then(|| "a/b:c".to_string());
    let mut words: Vec<String> = Vec::new();
    match instruction {
        Instruction::From {
            image, platform, ..
        } => {
            words.push(image.clone());
            words.extend(platform.clone());
        }
        Instruction::Env(kv) | Instruction::Label(kv) => {
            for (k, v) in kv {
                words.push(k.clone());
                words.push(v.clone());
            }
        }
        Instruction::Arg(kv) => words.extend(kv.iter().filter_map(|(_, v)| v.clone())),
        Instruction::Copy(c) | Instruction::Add(c) => {
            words.extend(c.sources.iter().cloned());
            words.push(c.dest.clone());
            words.extend(c.chown.clone());
            for h in &c.heredocs {
                words.push(h.content.clone());
            }
        }
        Instruction::Expose(v) | Instruction::Volume(v) => words.extend(v.iter().cloned()),
        Instruction::User(w) | Instruction::Workdir(w) | Instruction::StopSignal(w) => {
            words.push(w.clone())
        }
        Instruction::Onbuild { trigger, .. } => expand_all(trigger, escape),
        _ => {}
    }
    for w in words {
        let _ = expand(&w, escape, &env);
    }
}

#[test]
fn mutated_containerfiles_never_panic() {
    let seed = std::env::var("BERTH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("fuzz seed {seed} (replay with BERTH_FUZZ_SEED={seed})");
    let corpus_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/containerfiles");
    let mut seeds: Vec<String> = std::fs::read_dir(&corpus_dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    seeds.push("FROM x\nRUN <<A <<-B\na\nA\n\tb\n\tB\n".into());
    seeds.push("*.md\n!README.md\n**/x/**\n[a-c]?\n".into());
    let mut rng = Rng(seed);
    let (mut parsed, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let text = mutate(&seeds[round % seeds.len()], &mut rng);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let _ = IgnoreRules::parse(".dockerignore", &text).map(|r| r.is_excluded("a/b/x/c.md"));
            match Containerfile::parse(Path::new("Containerfile"), &text) {
                Ok(cf) => {
                    for step in &cf.steps {
                        expand_all(&step.instruction, cf.directives.escape);
                    }
                    true
                }
                Err(e) => {
                    assert!(e.line >= 1, "error without a line: {e}");
                    false
                }
            }
        }));
        match outcome {
            Ok(true) => parsed += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!("seed {seed}, round {round}: panic on {text:?}"),
        }
    }
    eprintln!("{parsed} parsed, {refused} refused");
    assert_eq!(parsed + refused, ROUNDS);
}
