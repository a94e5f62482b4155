//! A serde `Deserializer` over a parsed [`Json`] value: the shared types' derived
//! `Deserialize` impls ask for their fields by name, and this answers from the value.
//!
//! It is deliberately narrow, to stay small in the download: a struct's members are looked up
//! by the field names serde passes in (so an object is never enumerated, and unknown members
//! are never seen), `null` members count as absent (serde then applies `Option` and
//! `#[serde(default)]`), enums are unit variants named by a string, and errors carry no text
//! (a reply that does not fit is simply not ours).

use std::fmt;

use serde::de::{
    self, value::BorrowedStrDeserializer, DeserializeSeed, Deserializer, IntoDeserializer,
    MapAccess, SeqAccess, Visitor,
};

use super::Json;

/// The name serde_json's `RawValue` gives the newtype it asks for: a map of this one key to the
/// JSON text. (Only the round-trip test of `PasskeyChallenge` pins this; serde_json does not
/// promise it.)
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// Reads one value.
pub struct Reader<J>(pub J);

/// The value did not have the shape asked for.
#[derive(Debug)]
pub struct NotOurs;

impl fmt::Display for NotOurs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a reply of the expected shape")
    }
}

impl std::error::Error for NotOurs {}

/// Every constructor ignores its details, so none of serde's messages (nor the formatting
/// they need) reach the download.
impl de::Error for NotOurs {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotOurs
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        NotOurs
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        NotOurs
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        NotOurs
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        NotOurs
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        NotOurs
    }
    fn missing_field(_: &'static str) -> Self {
        NotOurs
    }
    fn duplicate_field(_: &'static str) -> Self {
        NotOurs
    }
}

impl<'de, J: Json> Deserializer<'de> for Reader<J> {
    type Error = NotOurs;

    fn deserialize_any<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        let v = self.0;
        if v.is_null() {
            visitor.visit_unit()
        } else if let Some(b) = v.boolean() {
            visitor.visit_bool(b)
        } else if let Some(n) = v.number() {
            match whole(n) {
                Some(n) => visitor.visit_u64(n),
                None => visitor.visit_f64(n),
            }
        } else if let Some(s) = v.string() {
            visitor.visit_string(s)
        } else if let Some(items) = v.items() {
            visitor.visit_seq(Items(items.into_iter()))
        } else {
            // Objects are read only as structs, by their field names.
            Err(NotOurs)
        }
    }

    // The kinds the shared types ask for by name get just that kind's question: each visitor
    // type instantiates only what it is asked, which keeps the download small.

    fn deserialize_bool<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        visitor.visit_bool(self.0.boolean().ok_or(NotOurs)?)
    }

    fn deserialize_u64<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        visitor.visit_u64(self.0.number().and_then(whole).ok_or(NotOurs)?)
    }

    fn deserialize_u32<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_string<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        visitor.visit_string(self.0.string().ok_or(NotOurs)?)
    }

    fn deserialize_str<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        self.deserialize_string(visitor)
    }

    fn deserialize_seq<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        visitor.visit_seq(Items(self.0.items().ok_or(NotOurs)?.into_iter()))
    }

    fn deserialize_option<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        if self.0.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    /// `()` is a reply the caller ignores, whatever its body.
    fn deserialize_unit<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        visitor.visit_unit()
    }

    /// Never asked in practice (only a struct's own members are read), so nothing is looked at.
    fn deserialize_ignored_any<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, NotOurs> {
        visitor.visit_unit()
    }

    fn deserialize_struct<W: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: W,
    ) -> Result<W::Value, NotOurs> {
        if !self.0.is_object() {
            return Err(NotOurs);
        }
        visitor.visit_map(Members {
            object: self.0,
            names: fields.iter(),
            value: None,
        })
    }

    fn deserialize_newtype_struct<W: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: W,
    ) -> Result<W::Value, NotOurs> {
        if name == RAW_VALUE {
            visitor.visit_map(RawText(Some(self.0.to_text().ok_or(NotOurs)?)))
        } else {
            visitor.visit_newtype_struct(self)
        }
    }

    fn deserialize_enum<W: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: W,
    ) -> Result<W::Value, NotOurs> {
        visitor.visit_enum(self.0.string().ok_or(NotOurs)?.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u128 f32 f64 char bytes byte_buf unit_struct tuple tuple_struct
        map identifier
    }
}

/// `n` as a count, if it is one (the API sends no negative or fractional numbers). Browsers
/// hold numbers as doubles: integers past 2^53 are not exact, and the API sends none.
fn whole(n: f64) -> Option<u64> {
    const TWO_TO_64: f64 = 18_446_744_073_709_551_616.0;
    (n.fract() == 0.0 && (0.0..TWO_TO_64).contains(&n)).then_some(n as u64)
}

/// An array's items.
struct Items<J>(std::vec::IntoIter<J>);

impl<'de, J: Json> SeqAccess<'de> for Items<J> {
    type Error = NotOurs;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, NotOurs> {
        self.0
            .next()
            .map(|item| seed.deserialize(Reader(item)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// A struct's members: those of its field names the object has (and are not `null`).
struct Members<J> {
    object: J,
    names: std::slice::Iter<'static, &'static str>,
    value: Option<J>,
}

impl<'de, J: Json> MapAccess<'de> for Members<J> {
    type Error = NotOurs;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NotOurs> {
        for &name in self.names.by_ref() {
            if let Some(value) = self.object.member(name) {
                self.value = Some(value);
                return seed
                    .deserialize(BorrowedStrDeserializer::new(name))
                    .map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, NotOurs> {
        seed.deserialize(Reader(self.value.take().ok_or(NotOurs)?))
    }
}

/// What `RawValue` asks for: one entry, its token to the JSON text.
struct RawText(Option<String>);

impl<'de> MapAccess<'de> for RawText {
    type Error = NotOurs;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NotOurs> {
        match self.0 {
            Some(_) => seed
                .deserialize(BorrowedStrDeserializer::new(RAW_VALUE))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, NotOurs> {
        seed.deserialize(self.0.take().ok_or(NotOurs)?.into_deserializer())
    }
}
