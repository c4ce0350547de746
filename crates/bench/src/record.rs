//! BENCHMARKS.md as a preamble (machine, date, commit) and numbered sections (`## 5. …`),
//! so that a run of some benchmarks only (`make bench BENCH=5,6`) replaces their sections
//! in the file a full run wrote and says so in the preamble, leaving the others as they were.

use std::collections::BTreeMap;

pub const ALL: [u32; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const RERUN: &str = "- rerun of benchmark";

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
    /// Puts the sections of a partial run over the old ones and notes the rerun (replacing
    /// the note of an earlier partial run).
    pub fn merge(mut self, new: BTreeMap<u32, String>, note: &str) -> Record {
        let kept: Vec<&str> = self
            .preamble
            .trim_end()
            .lines()
            .filter(|l| !l.starts_with(RERUN))
            .collect();
        let numbers: Vec<String> = new.keys().map(u32::to_string).collect();
        self.preamble = format!(
            "{}\n{RERUN}{} {}: {note}; the other sections are from the run above\n\n",
            kept.join("\n"),
            if new.len() > 1 { "s" } else { "" },
            numbers.join(", "),
        );
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
        assert!(md.starts_with("# Title\n\n- date: then\n- rerun of benchmark 2: now;"));
        assert!(md.contains("## 1. One\n\nfirst\n\n## 2. Two\n\nnew second\n"));
        assert!(!md.contains("\nsecond"), "the old section 2 is gone: {md}");
        assert!(md.ends_with(
            "## Not measured yet\n\nBenchmark 3, 4, 5, 6, 7, 8, 9, 10 (run `make bench`).\n"
        ));
        // A second partial run replaces the note instead of adding another.
        let again = BTreeMap::from([(5, "## 5. Five\n\nfive\n".to_owned())]);
        let md = parse(&md).merge(again, "later").render();
        assert_eq!(md.matches(RERUN).count(), 1, "{md}");
        assert!(md.contains("- rerun of benchmark 5: later;"));
        assert!(md.contains("new second") && md.contains("## 5. Five\n\nfive\n"));
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
