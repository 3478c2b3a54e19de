//! Templates from podman's man pages and Go's semantics, their errors,
//! and mutated templates that must end in Ok or Err, never a panic.

use super::table::{render_rows, Format};
use super::{ErrorKind, Template};
use serde_json::{json, Value};

const ID1: &str = "3d9e1b0f4a7c5e2d8b6a1c3e5f7a9b0d2c4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a";
const ID2: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";

/// Rows as `ps` builds them: podman's reporter methods make `Names` a
/// string there.
fn ps_rows() -> Vec<Value> {
    vec![
        json!({
            "ID": ID1, "Image": "docker.io/library/alpine:latest", "Names": "web",
            "State": "running", "Status": "Up 2 minutes", "CreatedAt": "2024-05-01 10:00:00",
            "Labels": {"app": "web", "io.podman.tier": "front"}, "Mounts": ["/data"],
            "Networks": ["podman", "backend"], "Size": 1234567, "Pid": 4242
        }),
        json!({
            "ID": ID2, "Image": "quay.io/podman/hello:latest", "Names": "hello",
            "State": "exited", "Status": "Exited (0) 1 hour ago", "CreatedAt": "2024-05-01 09:00:00",
            "Labels": {}, "Mounts": [], "Networks": [], "Size": 2048, "Pid": 0
        }),
    ]
}

/// A container as `inspect` shows it.
fn inspect() -> Value {
    json!({
        "Id": ID1, "Name": "web", "ImageName": "docker.io/library/alpine:latest",
        "State": {"Status": "running", "Running": true, "Paused": false, "Pid": 4242, "ExitCode": 0},
        "Config": {
            "Labels": {"a": "1", "maintainer": "me"},
            "Env": ["PATH=/usr/bin", "TERM=xterm"],
            "Cmd": ["sh", "-c", "sleep 1"],
            "Entrypoint": null,
            "StopSignal": "SIGTERM"
        },
        "Mounts": [
            {"Type": "bind", "Source": "/srv", "Destination": "/data", "RW": true},
            {"Type": "volume", "Source": "/var/lib/v", "Destination": "/cache", "RW": false}
        ],
        "HostConfig": {"Memory": 0, "NetworkMode": "bridge", "Devices": []},
        "NetworkSettings": {"Networks": {"podman": {"IPAddress": "10.88.0.2"}}},
        "SizeRootFs": 1.5, "Ratio": 2.0
    })
}

fn render(tmpl: &str, data: &Value) -> Result<String, String> {
    Template::parse(tmpl)
        .and_then(|t| t.render(data))
        .map_err(|e| e.to_string())
}

/// (template, expected) over `inspect()`.
const INSPECT_CASES: &[(&str, &str)] = &[
    // podman-inspect(1)
    ("{{.ImageName}}", "docker.io/library/alpine:latest"),
    ("{{range .Mounts}}{{.Destination}} {{end}}", "/data /cache "),
    (
        "{{json .Config}}",
        r#"{"Cmd":["sh","-c","sleep 1"],"Entrypoint":null,"Env":["PATH=/usr/bin","TERM=xterm"],"Labels":{"a":"1","maintainer":"me"},"StopSignal":"SIGTERM"}"#,
    ),
    ("{{if .State.Running}}up{{end}}", "up"),
    (r#"{{index .Config.Labels "a"}}"#, "1"),
    (r#"{{index .Config.Labels "none"}}"#, ""),
    (r#"{{join .Config.Cmd " "}}"#, "sh -c sleep 1"),
    ("{{truncate .Id 12}}", "3d9e1b0f4a7c"),
    ("{{upper .Name}}", "WEB"),
    ("{{.Name | upper}}", "WEB"),
    ("{{.State.Status}}", "running"),
    // Go's printing of maps, lists, nil and missing map keys.
    (
        "{{.Config}}",
        "map[Cmd:[sh -c sleep 1] Entrypoint:<nil> Env:[PATH=/usr/bin TERM=xterm] Labels:map[a:1 maintainer:me] StopSignal:SIGTERM]",
    ),
    ("{{.Config.Entrypoint}}", "<no value>"),
    ("{{.Config.Labels.missing}}", "<no value>"),
    ("{{.Config.Labels.missing.deeper}}", "<no value>"),
    ("{{.NetworkSettings.Networks.podman.IPAddress}}", "10.88.0.2"),
    (r#"{{index .NetworkSettings.Networks "podman" "IPAddress"}}"#, "10.88.0.2"),
    ("{{.SizeRootFs}} {{.Ratio}} {{.State.Pid}}", "1.5 2 4242"),
    ("{{json .Name}} {{json .State.Pid}}", r#""web" 4242"#),
    // Control structures.
    ("{{range $i, $e := .Config.Env}}{{$i}}={{$e}};{{end}}", "0=PATH=/usr/bin;1=TERM=xterm;"),
    ("{{range $e := .Config.Cmd}}[{{$e}}]{{end}}", "[sh][-c][sleep 1]"),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "a=1,maintainer=me,"),
    ("{{range .HostConfig.Devices}}x{{else}}none{{end}}", "none"),
    ("{{range .Config.Entrypoint}}x{{else}}none{{end}}", "none"),
    ("{{if .State.Paused}}p{{else if .State.Running}}r{{else}}s{{end}}", "r"),
    ("{{if .State.Paused}}p{{else if .State.ExitCode}}e{{else}}s{{end}}", "s"),
    ("{{with .State}}{{.Pid}}{{end}}", "4242"),
    ("{{with .HostConfig.Memory}}{{.}}{{else}}unlimited{{end}}", "unlimited"),
    ("{{with $s := .State.Status}}{{$s}}!{{end}}", "running!"),
    ("{{range .Mounts}}{{if not .RW}}{{break}}{{end}}{{.Destination}}{{end}}", "/data"),
    ("{{range .Mounts}}{{if .RW}}{{continue}}{{end}}{{.Destination}}{{end}}", "/cache"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ("{{range .Mounts}}{{$.Name}}:{{.Type}} {{end}}", "web:bind web:volume "),
    // Variables: `=` assigns the outer one, `:=` in a block is gone after it.
    ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
    ("{{$n := .Name}}{{$n}}/{{len $.Mounts}}", "web/2"),
    // Trim markers and comments.
    (" \n {{- .Name -}} \n x", "webx"),
    ("a {{/* a comment */}}b {{- /* trimmed */ -}} c", "a bc"),
    // Literals.
    (r#"{{"quoted"}} {{'a'}} {{1.5}} {{true}} {{0x10}} {{-3}} {{1e3}}"#, "quoted 97 1.5 true 16 -3 1000"),
    ("{{`raw\\n`}}", "raw\\n"),
    // Pipelines and parentheses.
    ("{{(index .Mounts 1).Destination}}", "/cache"),
    (r#"{{.Name | printf "%s!" | upper}}"#, "WEB!"),
    ("{{len (index .Config.Cmd 2)}}", "7"),
    // Builtins.
    (
        r#"{{printf "%-8s|%5d|%q|%t|%x|%v" .Name .State.Pid .Name .State.Running 255 .Config.Cmd}}"#,
        r#"web     | 4242|"web"|true|ff|[sh -c sleep 1]"#,
    ),
    (r#"{{printf "%.2f %s" .SizeRootFs .State.Pid}}"#, "1.50 %!s(int=4242)"),
    (r#"{{print "a" 1 2 "b"}}|{{println .Name}}"#, "a1 2b|web\n"),
    (
        r#"{{eq .State.Status "running"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1.5 2}}"#,
        "true true true true true false",
    ),
    (r#"{{eq .State.Status "paused" "running"}}"#, "true"),
    (r#"{{and .State.Running .Name}} {{or .Config.Entrypoint "none"}} {{not .State.Running}}"#, "web none false"),
    ("{{and .State.Paused .Missing.Field}}", "false"),
    ("{{len .Config.Env}} {{len .Name}} {{len .Config.Labels}}", "2 3 2"),
    (r#"{{slice .Name 1}} {{slice .Config.Cmd 0 2}}"#, "eb [sh -c]"),
    // podman's functions.
    (
        r#"{{lower "ABC"}} {{title "hello world"}} {{split "a:b:c" ":"}} {{replace .Name "w" "W"}} {{contains .ImageName "alpine"}}"#,
        "abc Hello World [a b c] Web true",
    ),
    ("{{pad .Name 2 1}}|", "  web |"),
    ("{{size 77800000}}", "77.8 MB"),
];

#[test]
fn inspect_cases() {
    let data = inspect();
    for (tmpl, want) in INSPECT_CASES {
        assert_eq!(
            render(tmpl, &data).as_deref(),
            Ok(*want),
            "template {tmpl:?}"
        );
    }
}

#[test]
fn dot_prints_any_value() {
    assert_eq!(render("{{.}}", &json!("x")).unwrap(), "x");
    assert_eq!(render("{{.}}", &json!(["a", "b"])).unwrap(), "[a b]");
    assert_eq!(render("{{.}}", &json!(null)).unwrap(), "<no value>");
    assert_eq!(render("{{.}}", &json!({"k": 1})).unwrap(), "map[k:1]");
    assert_eq!(render("plain text", &json!(null)).unwrap(), "plain text");
}

/// Cases over `ps_rows()`.
/// A `--format`, the caller's header names, and the expected output.
type ListCase = (&'static str, Vec<(&'static str, &'static str)>, String);

fn list_cases() -> Vec<ListCase> {
    let ps = vec![("ID", "CONTAINER ID")];
    let (s1, s2) = (&ID1[..12], &ID2[..12]);
    vec![
        // podman-ps(1)
        (
            "{{.ID}} {{.Image}}",
            vec![],
            format!("{ID1} docker.io/library/alpine:latest\n{ID2} quay.io/podman/hello:latest\n"),
        ),
        (
            r"table {{truncate .ID 12}}\t{{.Names}}",
            ps.clone(),
            format!("CONTAINER ID  NAMES\n{s1}  web\n{s2}  hello\n"),
        ),
        (
            "table {{truncate .ID 12}} {{.Names}}",
            ps.clone(),
            format!("CONTAINER ID  NAMES\n{s1}  web\n{s2}  hello\n"),
        ),
        (
            "table {{.Names}} {{.State}} {{.CreatedAt}}",
            vec![],
            "NAMES       STATE       CREATED AT\n\
             web         running     2024-05-01 10:00:00\n\
             hello       exited      2024-05-01 09:00:00\n"
                .to_string(),
        ),
        (
            r#"table {{.Names}}\t{{join .Networks ","}}\t{{size .Size}}"#,
            vec![],
            "NAMES       NETWORKS        SIZE\n\
             web         podman,backend  1.23 MB\n\
             hello                       2.05 kB\n"
                .to_string(),
        ),
        (
            r#"table {{printf "%-8s" .Names}}|{{.Pid}}"#,
            vec![("Pid", "PID")],
            "NAMES   |PID\nweb     |4242\nhello   |0\n".to_string(),
        ),
        ("{{.Names | upper}}", vec![], "WEB\nHELLO\n".to_string()),
        // A format ending in an escaped newline gets no second one.
        (r"{{.Names}}\n", vec![], "web\nhello\n".to_string()),
        (
            r"{{.Names}}\t{{.State}}",
            vec![],
            "web\trunning\nhello\texited\n".to_string(),
        ),
        (
            "{{json .Labels}}",
            vec![],
            "{\"app\":\"web\",\"io.podman.tier\":\"front\"}\n{}\n".to_string(),
        ),
        // `{{range .}}` takes the whole list, once.
        (
            "{{range .}}{{.Names}},{{end}}",
            vec![],
            "web,hello,\n".to_string(),
        ),
        // containers/common's regression test for printf "\n".
        (
            r#"{{range .}}{{printf "\n"}}{{end -}}"#,
            vec![],
            "\n\n".to_string(),
        ),
        // A header for a range shows the names inside it once.
        (
            "table {{.Names}} {{range .Mounts}}{{.}}{{end}}",
            vec![("Mounts", "Mounts")],
            "NAMES       MOUNTS\nweb         /data\nhello       \n".to_string(),
        ),
    ]
}

#[test]
fn list_formats() {
    let rows = ps_rows();
    for (format, headers, want) in list_cases() {
        let got = render_rows(format, &headers, &rows);
        assert_eq!(got.as_deref(), Ok(want.as_str()), "format {format:?}");
    }
}

#[test]
fn images_formats() {
    // podman-images(1)
    let rows = vec![
        json!({"ID": "d7e1a0b2c3f4", "Repository": "docker.io/library/alpine", "Tag": "latest"}),
        json!({"ID": "0123456789ab", "Repository": "quay.io/podman/hello", "Tag": "1.0"}),
    ];
    let headers = [("ID", "IMAGE ID")];
    assert_eq!(
        render_rows("table {{.ID}} {{.Repository}} {{.Tag}}", &headers, &rows).unwrap(),
        "IMAGE ID      REPOSITORY                TAG\n\
         d7e1a0b2c3f4  docker.io/library/alpine  latest\n\
         0123456789ab  quay.io/podman/hello      1.0\n"
    );
    assert_eq!(
        render_rows("{{.Repository}}:{{.Tag}}", &headers, &rows).unwrap(),
        "docker.io/library/alpine:latest\nquay.io/podman/hello:1.0\n"
    );
}

#[test]
fn json_rows_print_one_per_line() {
    let rows = vec![json!({"ID": "a", "N": [1]}), json!({"ID": "b", "N": []})];
    assert_eq!(
        render_rows("{{json .}}", &[], &rows).unwrap(),
        "{\"ID\":\"a\",\"N\":[1]}\n{\"ID\":\"b\",\"N\":[]}\n"
    );
}

#[test]
fn tables_match_containers_common() {
    // containers/common formatter_test, with the header names upper-cased
    // as report.Headers makes them.
    let rows = vec![
        json!({"ID": "c061a0839e", "Value": "one"}),
        json!({"ID": "f10fc2e11057", "Value": "two"}),
        json!({"ID": "1eb6fab5aa8f4b5cbfd3e66aa35e9b2a", "Value": "three"}),
    ];
    let headers = [("ID", "Identity")];
    let f = Format::parse("table {{.ID}}\t{{.Value}}").unwrap();
    assert!(f.is_table());
    assert_eq!(
        f.render(&headers, &rows).unwrap(),
        "IDENTITY                          VALUE\n\
         c061a0839e                        one\n\
         f10fc2e11057                      two\n\
         1eb6fab5aa8f4b5cbfd3e66aa35e9b2a  three\n"
    );
    for format in ["table {{ .ID}}", "table {{ .ID}}\n", r"table {{ .ID}}\n"] {
        assert_eq!(
            render_rows(format, &headers, &rows).unwrap(),
            "IDENTITY\nc061a0839e\nf10fc2e11057\n1eb6fab5aa8f4b5cbfd3e66aa35e9b2a\n",
            "{format:?}"
        );
    }
    assert!(!Format::parse("{{.ID}}").unwrap().is_table());
    assert_eq!(
        render_rows("ID\t{{.ID}}", &[], &rows[..1]).unwrap(),
        "ID\tc061a0839e\n"
    );
    // A table with no rows is its header.
    assert_eq!(
        render_rows("table {{.ID}} {{.Value}}", &[], &[]).unwrap(),
        "ID          VALUE\n"
    );
}

/// (template, kind, expected message) over `inspect()`.
const ERROR_CASES: &[(&str, ErrorKind, &str)] = &[
    ("{{.Name", ErrorKind::Parse, "template: format:1: unclosed action"),
    ("{{if .X}}a", ErrorKind::Parse, "template: format:1: unexpected EOF"),
    ("{{range .X}}a{{else}}", ErrorKind::Parse, "template: format:1: unexpected EOF"),
    ("{{end}}", ErrorKind::Parse, "template: format:1: unexpected {{end}}"),
    ("a{{else}}", ErrorKind::Parse, "template: format:1: unexpected {{else}}"),
    ("{{foo .Name}}", ErrorKind::Parse, "template: format:1: function \"foo\" not defined"),
    ("{{.Name | nope}}", ErrorKind::Parse, "template: format:1: function \"nope\" not defined"),
    ("{{$x}}", ErrorKind::Parse, "template: format:1: undefined variable \"$x\""),
    ("{{if 1}}{{$x := 1}}{{end}}{{$x}}", ErrorKind::Parse, "template: format:1: undefined variable \"$x\""),
    ("{{$x = 1}}", ErrorKind::Parse, "template: format:1: undefined variable \"$x\""),
    ("{{range .X}}{{else}}{{else}}{{end}}", ErrorKind::Parse, "template: format:1: expected end; found {{else}}"),
    ("{{break}}", ErrorKind::Parse, "template: format:1: {{break}} outside {{range}}"),
    ("{{range .X}}{{else}}{{continue}}{{end}}", ErrorKind::Parse, "template: format:1: {{continue}} outside {{range}}"),
    (r#"{{template "x"}}"#, ErrorKind::Parse, "template: format:1: {{template}} is not supported in --format"),
    ("{{.Name | 1}}", ErrorKind::Parse, "template: format:1: non executable command in pipeline stage 2"),
    ("{{}}", ErrorKind::Parse, "template: format:1: missing value for command"),
    ("{{if}}{{end}}", ErrorKind::Parse, "template: format:1: missing value for if"),
    ("{{(.Name}}", ErrorKind::Parse, "template: format:1: unclosed left paren"),
    ("{{.Name)}}", ErrorKind::Parse, "template: format:1: unexpected right paren"),
    ("{{.Name |}}", ErrorKind::Parse, "template: format:1: missing command after |"),
    ("a\n{{\"b}}", ErrorKind::Parse, "template: format:2: unterminated quoted string"),
    (r#"{{"x".Y}}"#, ErrorKind::Parse, "template: format:1: unexpected . after term \"\\\"x\\\"\""),
    ("{{.A#}}", ErrorKind::Parse, "template: format:1: bad character U+0023 '#'"),
    ("{{range $a, $b, $c := .X}}{{end}}", ErrorKind::Parse, "template: format:1: too many declarations in range"),
    ("{{/* open", ErrorKind::Parse, "template: format:1: unclosed comment"),
    // Execution: podman's rows are structs, so a field they lack is an error.
    (
        "{{.Missing}}",
        ErrorKind::Exec,
        "template: format:1:2: executing \"format\" at <.Missing>: can't evaluate field Missing in type struct",
    ),
    (
        "x\n {{.Name.First}}",
        ErrorKind::Exec,
        "template: format:2:3: executing \"format\" at <.Name.First>: can't evaluate field First in type string",
    ),
    (
        "{{upper .State}}",
        ErrorKind::Exec,
        "template: format:1:8: executing \"format\" at <.State>: wrong type for value; expected string; got struct",
    ),
    (
        "{{upper .Config.Entrypoint}}",
        ErrorKind::Exec,
        "template: format:1:8: executing \"format\" at <.Config.Entrypoint>: invalid value; expected string",
    ),
    (
        "{{truncate .Name}}",
        ErrorKind::Exec,
        "template: format:1:2: executing \"format\" at <truncate>: wrong number of args for truncate: want 2 got 1",
    ),
    (
        "{{index .Mounts 5}}",
        ErrorKind::Exec,
        "template: format:1:2: executing \"format\" at <index>: error calling index: index out of range: 5",
    ),
    ("{{range .Name}}{{end}}", ErrorKind::Exec, "range can't iterate over web"),
    ("{{nil}}", ErrorKind::Exec, "nil is not a command"),
    ("{{.Name 1}}", ErrorKind::Exec, "Name is not a method but has arguments"),
    ("{{1 2}}", ErrorKind::Exec, "can't give argument to non-function 1"),
    ("{{eq .Name 1}}", ErrorKind::Exec, "error calling eq: incompatible types for comparison"),
    ("{{lt .State.Running true}}", ErrorKind::Exec, "error calling lt: invalid type for comparison"),
    ("{{len 3}}", ErrorKind::Exec, "error calling len: len of type int"),
    ("{{truncate .Name -1}}", ErrorKind::Exec, "error calling truncate: negative length"),
    (
        "{{range $i, $e := 3}}{{end}}",
        ErrorKind::Exec,
        "can't use 3 to iterate over more than one variable",
    ),
    // Runaway templates stop on the budget or the size caps.
    ("{{range 100000000}}{{end}}", ErrorKind::Exec, "stopped after 1000000 steps"),
    (
        "{{range 1000}}{{range 1000}}{{range 1000}}x{{end}}{{end}}{{end}}",
        ErrorKind::Exec,
        "stopped after 1000000 steps",
    ),
    (
        r#"{{$x := "ab"}}{{range 64}}{{$x = printf "%s%s" $x $x}}{{end}}"#,
        ErrorKind::Exec,
        "result larger than",
    ),
    (r#"{{range 100000}}{{printf "%999999d" 1}}{{end}}"#, ErrorKind::Exec, "output larger than"),
    (r#"{{pad "x" 999999999 0}}"#, ErrorKind::Exec, "error calling pad: padding too large"),
    (
        r#"{{$s := printf "%999999s" ""}}{{replace $s "" $s}}"#,
        ErrorKind::Exec,
        "error calling replace: result too large",
    ),
];

#[test]
fn error_cases() {
    let data = inspect();
    for (tmpl, kind, want) in ERROR_CASES {
        let err = Template::parse(tmpl)
            .and_then(|t| t.render(&data))
            .expect_err(tmpl);
        assert_eq!(err.kind(), *kind, "template {tmpl:?}: {err}");
        let msg = err.to_string();
        assert!(msg.starts_with("template: "), "{msg}");
        if want.starts_with("template: ") {
            assert_eq!(msg, *want, "template {tmpl:?}");
        } else {
            assert!(msg.contains(want), "template {tmpl:?}: {msg}");
        }
    }
}

#[test]
fn nesting_is_bounded_not_a_stack_overflow() {
    let deep = |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
    for t in [
        format!("{{{{{}.Name{}}}}}", "(".repeat(10_000), ")".repeat(10_000)),
        deep("{{if 1}}", "{{end}}", 10_000),
        deep("{{range .Mounts}}", "{{end}}", 10_000),
        deep("{{with .}}", "{{else}}{{end}}", 10_000),
    ] {
        let err = Template::parse(&t).unwrap_err();
        assert!(err.to_string().contains("nesting deeper than"), "{err}");
    }
    // Up to the bound, parsing and running work.
    let data = inspect();
    let t = deep("{{with .}}", "{{end}}", super::parse::MAX_DEPTH);
    assert_eq!(render(&format!("{t}{{{{.Name}}}}"), &data).unwrap(), "web");
    let parens = format!("{{{{{}.Name{}}}}}", "(".repeat(99), ")".repeat(99));
    assert_eq!(render(&parens, &data).unwrap(), "web");
}

#[test]
fn many_columns_align_without_recursion() {
    let rows = vec![json!({"A": "x"})];
    let format = format!("table {}", "{{.A}} ".repeat(20_000));
    let out = render_rows(&format, &[], &rows).unwrap();
    assert_eq!(out.lines().count(), 2);
}

/// xorshift64*: a fixed stream, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'t>(&mut self, from: &[&'t str]) -> &'t str {
        from[self.below(from.len())]
    }
}

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{end}}",
    "{{else}}",
    "{{range .Mounts}}",
    "{{if ",
    "{{with ",
    ".",
    ".Name",
    ".Config.Labels",
    "$",
    "$x",
    "$x := ",
    " = ",
    "|",
    "(",
    ")",
    "\"",
    "`",
    "'",
    " ",
    "\\",
    "-",
    "0",
    "99",
    "1e9",
    "range",
    "end",
    "break",
    "printf",
    "%-*d",
    "index",
    ",",
    "\n",
    "/*",
    "*/",
    "table ",
    "\\t",
    "\\n",
    "nil",
    "true",
    "len",
    "json",
    "é",
];

const CHARS: &[char] = &[
    ' ', '{', '}', '.', '$', '|', '(', ')', '"', '\'', '`', '-', ':', '=', ',', '\\', '0', '7',
    '9', 'a', 'X', '%', '\n', '\t', '/', '*', 'é', '#',
];

fn mutate(rng: &mut Rng, base: &str) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if at < chars.len() => chars[at] = CHARS[rng.below(CHARS.len())],
            1 if at < chars.len() => {
                chars.remove(at);
            }
            3 if at < chars.len() => {
                let end = (at + 1 + rng.below(12)).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                let to = rng.below(chars.len() + 1);
                chars.splice(to..to, copy);
            }
            _ => {
                let piece = rng.pick(PIECES);
                chars.splice(at..at, piece.chars());
            }
        }
    }
    chars.into_iter().collect()
}

/// Parses and renders one template every way the CLI will; a panic names
/// the template.
fn survives(tmpl: &str, data: &Value, rows: &[Value]) -> (bool, bool) {
    let outcome = std::panic::catch_unwind(|| {
        let one = Template::parse(tmpl).and_then(|t| t.render(data)).is_ok();
        let list = render_rows(tmpl, &[("ID", "CONTAINER ID")], rows).is_ok();
        (one, list)
    });
    outcome.unwrap_or_else(|_| panic!("panicked on template {tmpl:?}"))
}

#[test]
fn mutated_templates_end_in_ok_or_err() {
    let data = inspect();
    let rows = ps_rows();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let bases: Vec<&str> = INSPECT_CASES
        .iter()
        .map(|(t, _)| *t)
        .chain(
            ERROR_CASES
                .iter()
                .map(|(t, _, _)| *t)
                .filter(|t| !t.contains("range 1000")),
        )
        .collect();
    let (mut ok, mut err, mut total) = (0, 0, 0);
    for base in &bases {
        for _ in 0..4 {
            let t = mutate(&mut rng, base);
            let (one, _) = survives(&t, &data, &rows);
            if one {
                ok += 1
            } else {
                err += 1
            }
            total += 1;
        }
    }
    // Templates of random pieces, for shapes no valid case has.
    for _ in 0..200 {
        let t: String = (0..1 + rng.below(16)).map(|_| rng.pick(PIECES)).collect();
        survives(&t, &data, &rows);
        total += 1;
    }
    assert!(total >= 500, "{total}");
    // The mutations must reach both outcomes to test anything.
    assert!(ok > 20 && err > 20, "ok {ok}, err {err}");
}
