//! Kafka's primitive types: big-endian integers, length-prefixed strings, bytes and arrays,
//! and the zig-zag varints of record batches. Only the non-flexible encodings are used.

use super::error::KafkaError;

/// Appends Kafka primitives to a byte buffer.
#[derive(Debug, Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn i8(&mut self, value: i8) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub fn i16(&mut self, value: i16) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub fn i32(&mut self, value: i32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub fn i64(&mut self, value: i64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub fn bool(&mut self, value: bool) {
        self.buf.push(u8::from(value));
    }

    /// A `STRING`: i16 length, then UTF-8 bytes (truncated at `i16::MAX` bytes, far beyond
    /// any client id or topic name Kafka accepts).
    pub fn string(&mut self, value: &str) {
        let bytes = &value.as_bytes()[..value.len().min(i16::MAX as usize)];
        self.i16(i16::try_from(bytes.len()).unwrap_or(i16::MAX));
        self.buf.extend_from_slice(bytes);
    }

    /// A `NULLABLE_STRING`: -1 for null.
    pub fn nullable_string(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.string(value),
            None => self.i16(-1),
        }
    }

    /// `BYTES` / `NULLABLE_BYTES` with an i32 length (-1 for null).
    pub fn bytes(&mut self, value: Option<&[u8]>) {
        match value {
            Some(value) => {
                self.i32(len_i32(value.len()));
                self.buf.extend_from_slice(value);
            }
            None => self.i32(-1),
        }
    }

    /// An `ARRAY` length.
    pub fn array_len(&mut self, len: usize) {
        self.i32(len_i32(len));
    }

    /// A zig-zag `VARINT`.
    pub fn varint(&mut self, value: i32) {
        self.varlong(i64::from(value));
    }

    /// A zig-zag `VARLONG`.
    pub fn varlong(&mut self, value: i64) {
        #[allow(clippy::cast_sign_loss)] // zig-zag encoding works on the bit pattern
        let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
        while zigzag >= 0x80 {
            #[allow(clippy::cast_possible_truncation)] // the low 7 bits
            self.buf.push((zigzag as u8 & 0x7F) | 0x80);
            zigzag >>= 7;
        }
        #[allow(clippy::cast_possible_truncation)] // < 0x80
        self.buf.push(zigzag as u8);
    }
}

/// A length as Kafka's i32; lengths beyond it cannot be sent anyway (`max_request_size`).
pub fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// Reads Kafka primitives from a response body; every read checks the remaining length.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], KafkaError> {
        if self.data.len() < n {
            return Err(KafkaError::Malformed("response ends early"));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], KafkaError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn i8(&mut self) -> Result<i8, KafkaError> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    pub fn i16(&mut self) -> Result<i16, KafkaError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32, KafkaError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, KafkaError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub fn nullable_string(&mut self) -> Result<Option<String>, KafkaError> {
        let len = self.i16()?;
        let Ok(len) = usize::try_from(len) else { return Ok(None) };
        let bytes = self.take(len)?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    pub fn string(&mut self) -> Result<String, KafkaError> {
        Ok(self.nullable_string()?.unwrap_or_default())
    }

    /// An `ARRAY` length; null arrays read as empty.
    pub fn array_len(&mut self) -> Result<usize, KafkaError> {
        let len = self.i32()?;
        let len = usize::try_from(len).unwrap_or(0);
        // Every element takes at least one byte: a larger count is garbage, not a reason
        // to reserve memory.
        if len > self.data.len() {
            return Err(KafkaError::Malformed("array longer than the response"));
        }
        Ok(len)
    }

    /// Skips an array of i32 (replica lists and the like).
    pub fn skip_i32_array(&mut self) -> Result<(), KafkaError> {
        let len = self.array_len()?;
        self.take(len * 4).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varlong(value: i64) -> Vec<u8> {
        let mut w = Writer::default();
        w.varlong(value);
        w.buf
    }

    #[test]
    fn varints_are_zigzag_encoded() {
        assert_eq!(varlong(0), [0x00]);
        assert_eq!(varlong(-1), [0x01]);
        assert_eq!(varlong(1), [0x02]);
        assert_eq!(varlong(63), [0x7E]);
        assert_eq!(varlong(-64), [0x7F]);
        assert_eq!(varlong(64), [0x80, 0x01]);
        assert_eq!(varlong(300), [0xD8, 0x04]);
        assert_eq!(varlong(i64::MIN).len(), 10);
    }

    #[test]
    fn strings_and_bytes_round_trip() {
        let mut w = Writer::default();
        w.string("abc");
        w.nullable_string(None);
        w.bytes(Some(b"xy"));
        w.bytes(None);
        assert_eq!(w.buf, [0, 3, b'a', b'b', b'c', 0xFF, 0xFF, 0, 0, 0, 2, b'x', b'y', 0xFF, 0xFF, 0xFF, 0xFF]);
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.string().unwrap(), "abc");
        assert_eq!(r.nullable_string().unwrap(), None);
        assert_eq!(r.i32().unwrap(), 2);
        assert_eq!((r.i8().unwrap(), r.i8().unwrap()), (b'x' as i8, b'y' as i8));
        assert_eq!(r.i32().unwrap(), -1);
        assert!(r.i8().is_err());
    }
}
