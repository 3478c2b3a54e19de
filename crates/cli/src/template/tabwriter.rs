//! Elastic tabstops as Go's text/tabwriter lays them out with podman's
//! settings (left-aligned, space padding, no flags).
//!
//! A cell is text ended by a tab; the text after a line's last tab is not
//! in any column. A column is a run of adjacent lines that all have a cell
//! at that index, and is as wide as its widest cell plus the padding, but
//! at least the minimum width. Widths count characters.

/// podman's `report.NewWriterDefault`: minwidth 12, padding 2.
pub(super) const MIN_WIDTH: usize = 12;
pub(super) const PADDING: usize = 2;

pub(super) fn align(text: &str, min_width: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut layout = Layout {
        lines: &lines,
        min_width,
        padding,
        widths: Vec::new(),
        out: String::with_capacity(text.len()),
    };
    layout.format();
    layout.out
}

struct Layout<'t> {
    lines: &'t [Vec<&'t str>],
    min_width: usize,
    padding: usize,
    /// The widths of the columns left of the one being laid out.
    widths: Vec<usize>,
    out: String,
}

impl Layout<'_> {
    /// Lays out all lines. Each frame is a block of lines whose columns
    /// left of its depth are known; a frame per column, on a heap stack,
    /// since a user's template can make thousands of columns.
    fn format(&mut self) {
        struct Frame {
            to: usize,
            start: usize,
            this: usize,
        }
        let mut stack = vec![Frame {
            to: self.lines.len(),
            start: 0,
            this: 0,
        }];
        while let Some(f) = stack.last_mut() {
            let column = self.widths.len();
            if f.this >= f.to {
                let (start, to) = (f.start, f.to);
                stack.pop();
                self.write_lines(start, to);
                if !stack.is_empty() {
                    self.widths.pop();
                }
                continue;
            }
            if column + 1 >= self.lines[f.this].len() {
                f.this += 1;
                continue;
            }
            // A block of lines with a cell in this column begins here.
            let (start, block) = (f.start, f.this);
            let mut end = block;
            let mut width = self.min_width;
            while end < f.to && column + 1 < self.lines[end].len() {
                width = width.max(self.lines[end][column].chars().count() + self.padding);
                end += 1;
            }
            f.start = end;
            f.this = end;
            self.write_lines(start, block);
            self.widths.push(width);
            stack.push(Frame {
                to: end,
                start: block,
                this: block,
            });
        }
    }

    fn write_lines(&mut self, from: usize, to: usize) {
        for i in from..to {
            for (j, cell) in self.lines[i].iter().enumerate() {
                self.out.push_str(cell);
                if let Some(&w) = self.widths.get(j) {
                    let fill = w.saturating_sub(cell.chars().count());
                    self.out.extend(std::iter::repeat_n(' ', fill));
                }
            }
            if i + 1 < self.lines.len() {
                self.out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn podman(text: &str) -> String {
        align(text, MIN_WIDTH, PADDING)
    }

    #[test]
    fn matches_podman_default_writer() {
        // The case from containers/common's own test of NewWriterDefault.
        assert_eq!(
            podman("a46001bfea3a4172b46c173101208244\tRandom\tuuid"),
            "a46001bfea3a4172b46c173101208244  Random      uuid"
        );
        assert_eq!(
            podman("Identity\tValue\nc061a0839e\tone\n1eb6fab5aa8f4b5cbfd3e66aa35e9b2a\tthree\n"),
            "Identity                          Value\n\
             c061a0839e                        one\n\
             1eb6fab5aa8f4b5cbfd3e66aa35e9b2a  three\n"
        );
    }

    #[test]
    fn a_line_without_the_column_ends_its_block() {
        assert_eq!(
            align("a\tb\nlong line\nccc\td\n", 0, 1),
            "a b\nlong line\nccc d\n"
        );
        // Trailing tabs make the last text a column cell, padded too.
        assert_eq!(align("a\tb\t\n", 0, 1), "a b \n");
        assert_eq!(podman("no tabs\n"), "no tabs\n");
        assert_eq!(align("é\tx\nab\ty", 0, 1), "é  x\nab y");
    }
}
