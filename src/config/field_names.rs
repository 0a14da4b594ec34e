//! `field_names::<T>()`: the keys a serde struct accepts.
//!
//! The loader checks keys itself, before serde sees a table, so that it can
//! report *every* unknown key with a suggestion instead of serde's first one.
//! Asking serde for the list keeps that check from drifting out of step with
//! the struct definitions: a derive hands the field list to
//! `deserialize_struct`, and this deserializer only records it.

use serde::de::{self, Deserialize, Visitor};

/// The field names `T`'s `Deserialize` impl declares, or an empty list if `T`
/// is not a struct.
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNameRecorder { names: &mut names });
    names
}

struct FieldNameRecorder<'a> {
    names: &'a mut &'static [&'static str],
}

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Recorded {}

impl de::Error for Recorded {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Self
    }
}

impl<'de> de::Deserializer<'de> for FieldNameRecorder<'_> {
    type Error = Recorded;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Recorded> {
        *self.names = fields;
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Example {
        first: u32,
        #[serde(rename = "second-name")]
        second: String,
    }

    #[test]
    fn records_declared_fields_with_renames() {
        assert_eq!(field_names::<Example>(), ["first", "second-name"]);
        assert!(field_names::<u32>().is_empty());
    }
}
