//! Mapping between serde values and DynamoDB attribute values, so domain types are stored
//! as native attributes (maps, lists, numbers) without hand-written code per field.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// An item as the SDK wants it.
pub type Item = HashMap<String, AttributeValue>;

/// A value that could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("not a JSON object at the top level")]
    NotAnObject,
    #[error("cannot map: {0}")]
    Serde(#[from] serde_json::Error),
    #[error("unsupported attribute type in {0}")]
    Unsupported(String),
    #[error("bad number '{0}'")]
    BadNumber(String),
}

/// A serialisable value as an item (it must serialise to a JSON object).
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, MappingError> {
    match serde_json::to_value(value)? {
        Value::Object(map) => Ok(map.into_iter().map(|(k, v)| (k, to_attr(v))).collect()),
        _ => Err(MappingError::NotAnObject),
    }
}

/// An item as a deserialisable value; attributes the type does not know are ignored
/// unless the type refuses them.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, MappingError> {
    let mut map = Map::new();
    for (k, v) in item {
        map.insert(k.clone(), from_attr(k, v)?);
    }
    Ok(serde_json::from_value(Value::Object(map))?)
}

fn to_attr(value: Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s),
        Value::Array(items) => AttributeValue::L(items.into_iter().map(to_attr).collect()),
        Value::Object(map) => {
            AttributeValue::M(map.into_iter().map(|(k, v)| (k, to_attr(v))).collect())
        }
    }
}

fn from_attr(path: &str, value: &AttributeValue) -> Result<Value, MappingError> {
    Ok(match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => Value::Number(parse_number(n)?),
        AttributeValue::L(items) => Value::Array(
            items
                .iter()
                .map(|v| from_attr(path, v))
                .collect::<Result<_, _>>()?,
        ),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_attr(k, v)?)))
                .collect::<Result<_, MappingError>>()?,
        ),
        AttributeValue::Ss(items) => {
            Value::Array(items.iter().cloned().map(Value::String).collect())
        }
        _ => return Err(MappingError::Unsupported(path.to_string())),
    })
}

fn parse_number(n: &str) -> Result<Number, MappingError> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(i.into());
    }
    if let Ok(u) = n.parse::<u64>() {
        return Ok(u.into());
    }
    n.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(|| MappingError::BadNumber(n.to_string()))
}

/// A string attribute of an item, if present.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A string attribute value.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        count: u32,
        ratio: f64,
        tags: Vec<String>,
        nested: Option<Box<Sample>>,
        flag: bool,
    }

    #[test]
    fn values_round_trip_through_items() {
        let sample = Sample {
            name: "投诉".into(),
            count: 7,
            ratio: 0.25,
            tags: vec!["a".into(), "b".into()],
            nested: Some(Box::new(Sample {
                name: "inner".into(),
                count: 0,
                ratio: -1.5,
                tags: vec![],
                nested: None,
                flag: false,
            })),
            flag: true,
        };
        let item = to_item(&sample).unwrap();
        assert_eq!(item["count"], AttributeValue::N("7".into()));
        assert!(matches!(item["nested"], AttributeValue::M(_)));
        let back: Sample = from_item(&item).unwrap();
        assert_eq!(back, sample);
    }

    #[test]
    fn a_non_object_is_refused() {
        assert!(matches!(
            to_item(&vec![1, 2]),
            Err(MappingError::NotAnObject)
        ));
    }

    #[test]
    fn unsupported_attribute_types_name_the_attribute() {
        let mut item = Item::new();
        item.insert("blob".into(), AttributeValue::B(vec![1u8].into()));
        let err = from_item::<serde_json::Value>(&item).unwrap_err();
        assert!(err.to_string().contains("blob"));
    }
}
