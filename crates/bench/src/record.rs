//! BENCHMARKS.md as a preamble (machine, date, commit) and numbered sections (`## 5. …`),
//! so that a run of some benchmarks only (`make bench BENCH=5,6`) replaces their sections
//! in the file a full run wrote and says so in the preamble, leaving the others as they were.

use std::collections::BTreeMap;

pub const ALL: [u32; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const RERUN: &str = "- rerun of benchmark";
/// The preamble's last line when some sections were measured again.
const ELSE: &str = "- every other section is from the run above";

/// `- rerun of benchmarks 8, 10: <note>` (older files end the note with "; the other
/// sections are from the run above").
fn rerun_line(line: &str) -> Option<(Vec<u32>, String)> {
    let rest = line.strip_prefix(RERUN)?;
    let rest = rest.strip_prefix('s').unwrap_or(rest);
    let (numbers, note) = rest.split_once(':')?;
    let numbers = numbers
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let note = note.trim();
    let note = note
        .strip_suffix("; the other sections are from the run above")
        .unwrap_or(note);
    Some((numbers, note.to_owned()))
}

fn rerun_text(numbers: &[u32], note: &str) -> String {
    let list: Vec<String> = numbers.iter().map(u32::to_string).collect();
    format!(
        "{RERUN}{} {}: {note}",
        if numbers.len() > 1 { "s" } else { "" },
        list.join(", ")
    )
}

pub struct Record {
    pub preamble: String,
    pub sections: BTreeMap<u32, String>,
}

/// Splits a file into its preamble and its numbered sections; other `## ` sections (the
/// list of what is not measured yet) are dropped: `render` writes them afresh.
pub fn parse(md: &str) -> Record {
    let mut preamble = String::new();
    let mut sections = BTreeMap::new();
    let mut current: Option<(Option<u32>, String)> = None;
    for line in md.split_inclusive('\n') {
        if let Some(title) = line.strip_prefix("## ") {
            if let Some((Some(n), text)) = current.take() {
                sections.insert(n, text);
            }
            let n = title.split_once('.').and_then(|(n, _)| n.parse().ok());
            current = Some((n, line.to_owned()));
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
        } else {
            preamble.push_str(line);
        }
    }
    if let Some((Some(n), text)) = current {
        sections.insert(n, text);
    }
    for text in sections.values_mut() {
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
        text.push('\n');
    }
    Record { preamble, sections }
}

impl Record {
    /// Puts the sections of a partial run over the old ones and notes the rerun. An earlier
    /// rerun's note keeps the benchmarks this run did not measure again (and goes when none
    /// is left), so the preamble says where every section comes from.
    pub fn merge(mut self, new: BTreeMap<u32, String>, note: &str) -> Record {
        let mut kept: Vec<String> = Vec::new();
        for line in self.preamble.trim_end().lines() {
            if line.starts_with(ELSE) {
                continue;
            }
            let Some((numbers, old_note)) = rerun_line(line) else {
                kept.push(line.to_owned());
                continue;
            };
            let left: Vec<u32> = numbers
                .into_iter()
                .filter(|n| !new.contains_key(n))
                .collect();
            if !left.is_empty() {
                kept.push(rerun_text(&left, &old_note));
            }
        }
        let numbers: Vec<u32> = new.keys().copied().collect();
        kept.push(rerun_text(&numbers, note));
        kept.push(ELSE.to_owned());
        self.preamble = format!("{}\n\n", kept.join("\n"));
        self.sections.extend(new);
        self
    }

    pub fn render(&self) -> String {
        let mut md = self.preamble.clone();
        let body: Vec<&str> = self.sections.values().map(String::as_str).collect();
        md.push_str(&body.join("\n"));
        let missing: Vec<String> = ALL
            .iter()
            .filter(|n| !self.sections.contains_key(n))
            .map(u32::to_string)
            .collect();
        if !missing.is_empty() {
            md.push_str(&format!(
                "\n## Not measured yet\n\nBenchmark {} (run `make bench`).\n",
                missing.join(", ")
            ));
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# Title\n\n- date: then\n\n## 1. One\n\nfirst\n\n## 2. Two\n\nsecond\n\n\
                        ## Not measured yet\n\n5 and 6.\n";

    #[test]
    fn a_partial_run_replaces_its_sections_and_keeps_the_others() {
        let new = BTreeMap::from([(2, "## 2. Two\n\nnew second\n".to_owned())]);
        let md = parse(FILE).merge(new, "now").render();
        assert!(md.starts_with(
            "# Title\n\n- date: then\n- rerun of benchmark 2: now\n- every other section is from the run above\n"
        ));
        assert!(md.contains("## 1. One\n\nfirst\n\n## 2. Two\n\nnew second\n"));
        assert!(!md.contains("\nsecond"), "the old section 2 is gone: {md}");
        assert!(md.ends_with(
            "## Not measured yet\n\nBenchmark 3, 4, 5, 6, 7, 8, 9, 10 (run `make bench`).\n"
        ));
        // A second partial run adds its note and keeps the first one's for what it left.
        let again = BTreeMap::from([(5, "## 5. Five\n\nfive\n".to_owned())]);
        let md = parse(&md).merge(again, "later").render();
        assert_eq!(md.matches(RERUN).count(), 2, "{md}");
        assert!(md.contains("- rerun of benchmark 2: now\n- rerun of benchmark 5: later\n"));
        assert!(md.contains("new second") && md.contains("## 5. Five\n\nfive\n"));
        // A run that measures both again leaves one note; an old-style note is read too.
        let old_style = md.replace(
            "- rerun of benchmark 2: now\n",
            "- rerun of benchmarks 2, 6: now; the other sections are from the run above\n",
        );
        let both = BTreeMap::from([
            (2, "## 2. Two\n\nx\n".to_owned()),
            (5, "## 5. Five\n\ny\n".to_owned()),
        ]);
        let md = parse(&old_style).merge(both, "last").render();
        assert!(
            md.contains("- rerun of benchmark 6: now\n- rerun of benchmarks 2, 5: last\n"),
            "{md}"
        );
        assert_eq!(md.matches(ELSE).count(), 1, "{md}");
    }

    #[test]
    fn a_complete_record_has_no_not_measured_section() {
        let sections = ALL
            .iter()
            .map(|n| (*n, format!("## {n}. X\n\nbody\n")))
            .collect();
        let md = Record {
            preamble: "# T\n\n".into(),
            sections,
        }
        .render();
        assert!(!md.contains("Not measured"));
        assert_eq!(parse(&md).sections.len(), ALL.len());
    }
}
