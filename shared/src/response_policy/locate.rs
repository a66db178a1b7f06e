//! Where each rule and each of its keys sits in the document's text, so that an error found after
//! parsing (a bad glob, an unreachable rule) can name a line and column like a syntax error does.
//! A small scanner over the JSON already known to be valid: strings, nesting, keys.

/// A line and column, both from 1, as serde_json counts them.
pub(super) type Position = (usize, usize);

/// One rule of `rules`: where its object opens, and where each key inside it is written (first
/// occurrence, any depth, e.g. `approve_within`, `type`, `min`).
#[derive(Debug, Default)]
pub(super) struct RuleText {
    pub start: Position,
    pub keys: Vec<(String, Position)>,
}

impl RuleText {
    pub fn key(&self, key: &str) -> Position {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, p)| *p).unwrap_or(self.start)
    }
}

/// The rules of the top-level `rules` array, in order.
pub(super) fn rules(text: &str) -> Vec<RuleText> {
    let mut found: Vec<RuleText> = Vec::new();
    let (mut line, mut column) = (1, 0);
    let mut depth = 0usize;
    // The depth of the `rules` array once it is open, and whether the last key read was `rules`
    // at the top level.
    let mut rules_depth: Option<usize> = None;
    let mut rules_done = false;
    let mut last_key: Option<String> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        column += 1;
        let here = (line, column);
        match c {
            '\n' => (line, column) = (line + 1, 0),
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    column += 1;
                    match c {
                        '\\' => {
                            column += 1;
                            if let Some(e) = chars.next() {
                                s.push(e);
                            }
                        }
                        '"' => break,
                        c => s.push(c),
                    }
                }
                // A key is a string followed (after blanks) by a colon.
                while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                    chars.next();
                    column += 1;
                }
                if chars.peek() == Some(&':') {
                    if let (Some(d), Some(rule)) = (rules_depth, found.last_mut()) {
                        if depth > d && !rule.keys.iter().any(|(k, _)| *k == s) {
                            rule.keys.push((s.clone(), here));
                        }
                    }
                    last_key = Some(s);
                }
            }
            '{' | '[' => {
                depth += 1;
                if c == '['
                    && depth == 2
                    && rules_depth.is_none()
                    && !rules_done
                    && last_key.as_deref() == Some("rules")
                {
                    rules_depth = Some(depth);
                } else if c == '{' && rules_depth.is_some_and(|d| depth == d + 1) {
                    found.push(RuleText { start: here, keys: Vec::new() });
                }
            }
            '}' | ']' => {
                if c == ']' && rules_depth == Some(depth) {
                    // Only the first top-level `rules` counts (serde refuses a duplicate anyway).
                    (rules_depth, rules_done) = (None, true);
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_rule_and_its_keys() {
        let text = "{\n  \"rules\": [\n    {\"name\": \"a\", \"mode\": \"contain\"},\n    {\n      \"name\": \"b \\\"q\\\"\",\n      \"match\": {\"type\": [\"X*\"]}\n    }\n  ]\n}\n";
        let rules = rules(text);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].start, (3, 5));
        assert_eq!(rules[0].key("mode"), (3, 19));
        assert_eq!(rules[1].start, (4, 5));
        assert_eq!(rules[1].key("type"), (6, 17));
        assert_eq!(rules[1].key("absent"), (4, 5));
    }
}
