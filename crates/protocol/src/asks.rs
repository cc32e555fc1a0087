//! Capability classes: which of `sampling`, `elicitation` and `roots` a client declared.
//!
//! Some servers offer tools only to clients that can be asked something (the official
//! "everything" server registers `trigger-sampling-request` only for clients declaring
//! `sampling`). The gateway lists each backend once per class (eight of them) and shows a
//! client the tools its class would see directly.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The capabilities a class is made of, one bit each in this order.
const NAMES: [&str; 3] = ["sampling", "elicitation", "roots"];

/// One capability class: the set of `sampling`, `elicitation`, `roots` a client declared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AskClass(u8);

/// The three capabilities, each present and not null.
#[derive(Deserialize)]
struct Declared<'a> {
    #[serde(borrow)]
    sampling: Option<&'a RawValue>,
    #[serde(borrow)]
    elicitation: Option<&'a RawValue>,
    #[serde(borrow)]
    roots: Option<&'a RawValue>,
}

impl AskClass {
    /// A client that declared none of the three.
    pub const NONE: Self = Self(0);
    /// A client that declared all three.
    pub const ALL: Self = Self(0b111);
    /// Number of classes.
    pub const COUNT: usize = 8;

    /// The class of a `capabilities` object given as JSON text; text that is not an object
    /// is the class of nothing.
    pub fn of_json(capabilities: &str) -> Self {
        let Ok(declared) = serde_json::from_str::<Declared<'_>>(capabilities) else {
            return Self::NONE;
        };
        let present = |v: Option<&RawValue>| v.is_some_and(|v| v.get() != "null");
        Self(
            u8::from(present(declared.sampling))
                | u8::from(present(declared.elicitation)) << 1
                | u8::from(present(declared.roots)) << 2,
        )
    }

    /// Every class, [`AskClass::NONE`] first.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..Self::COUNT as u8).map(Self)
    }

    /// The class's index, `0..COUNT`.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Whether this class declares everything `other` does.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// What this class declares beyond `other`.
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// How many of the capabilities this class declares.
    pub fn count(self) -> u32 {
        self.0.count_ones()
    }

    /// Capabilities declaring exactly this class (each as `{}`), for a listing session.
    pub fn capabilities(self) -> Value {
        let mut map = Map::new();
        for (bit, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                map.insert((*name).to_owned(), Value::Object(Map::new()));
            }
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_come_from_declared_capabilities() {
        assert_eq!(AskClass::of_json("{}"), AskClass::NONE);
        assert_eq!(AskClass::of_json("not json"), AskClass::NONE);
        assert_eq!(
            AskClass::of_json(r#"{"sampling":{},"elicitation":{"form":{}},"roots":{}}"#),
            AskClass::ALL
        );
        assert_eq!(
            AskClass::of_json(r#"{"roots":{"listChanged":true},"sampling":null}"#).index(),
            4
        );
        for class in AskClass::all() {
            let declared = class.capabilities().to_string();
            assert_eq!(AskClass::of_json(&declared), class, "{declared}");
        }
        assert_eq!(AskClass::all().count(), AskClass::COUNT);
    }
}
