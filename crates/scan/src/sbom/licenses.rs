//! Declared licences as SPDX expressions: a record's text is kept as an
//! expression only when every id in it is on the SPDX licence list (the
//! common part of it below); anything else becomes a `LicenseRef-`.

/// Licence ids records use most, all on the SPDX licence list (including
/// the deprecated bare GPL/LGPL forms Debian and npm still write).
const KNOWN: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AGPL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "BSL-1.0",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "curl",
    "EPL-1.0",
    "EPL-2.0",
    "FTL",
    "GFDL-1.3",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0",
    "GPL-1.0-or-later",
    "GPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ICU",
    "IJG",
    "ISC",
    "LGPL-2.0",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "NCSA",
    "OpenSSL",
    "PHP-3.01",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
];

/// An SPDX expression for `licenses` (joined with AND), and the
/// `LicenseRef-` ids it had to invent with the text each stands for.
pub(crate) fn expression(licenses: &[String]) -> Option<(String, Vec<(String, String)>)> {
    if licenses.is_empty() {
        return None;
    }
    let mut refs = Vec::new();
    let parts: Vec<String> = licenses
        .iter()
        .map(|l| {
            if is_expression(l) {
                if licenses.len() > 1 && l.contains(' ') {
                    format!("({l})")
                } else {
                    l.clone()
                }
            } else {
                let id = license_ref(l);
                refs.push((id.clone(), l.clone()));
                id
            }
        })
        .collect();
    Some((parts.join(" AND "), refs))
}

/// `LicenseRef-` plus the text reduced to `[A-Za-z0-9.-]`.
pub(crate) fn license_ref(text: &str) -> String {
    format!("LicenseRef-{}", super::sanitize(text.trim()))
}

/// Whether `s` is an SPDX expression over known ids: ids (optionally with
/// `+`), `AND`/`OR`, `WITH exception`, parentheses.
pub(crate) fn is_expression(s: &str) -> bool {
    let spaced = s.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    if tokens.is_empty() {
        return false;
    }
    let mut depth = 0i32;
    let mut expect_id = true;
    let mut after_with = false;
    for t in tokens {
        match t {
            "(" if expect_id => depth += 1,
            ")" if !expect_id => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            "AND" | "OR" if !expect_id => expect_id = true,
            "WITH" if !expect_id => after_with = true,
            id if expect_id || after_with => {
                if after_with {
                    // Exceptions: `Classpath-exception-2.0`, `LLVM-exception`...
                    if !id.contains("exception")
                        || !id
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
                    {
                        return false;
                    }
                    after_with = false;
                } else if !KNOWN.contains(&id.strip_suffix('+').unwrap_or(id)) {
                    return false;
                }
                expect_id = false;
            }
            _ => return false,
        }
    }
    depth == 0 && !expect_id && !after_with
}
